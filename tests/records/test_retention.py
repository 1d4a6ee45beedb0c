"""Retention: the nightly job proposes clients past the policy, an owner destroys or keeps
each, an automatic policy destroys at once, and a legal hold stops all of it."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from audit import actions
from audit.models import AccessEvent
from lifecycle import jobs
from records import retention
from records.models import Client, Destruction, LegalHold, RetentionPolicy, RetentionProposal


@pytest.fixture(autouse=True)
def certificates(settings, tmp_path):
    settings.DESTRUCTION_CERTIFICATE_DIR = tmp_path / "certificates"


@pytest.fixture(autouse=True)
def default_policies(db):
    # The migration adds them; a browser test's flush of the database takes them away.
    retention.policies()


@pytest.fixture
def old_and_new(make_client):
    today = timezone.localdate()
    old = make_client(full_name="老客户", phone="13900000001")
    Client.objects.filter(pk=old.pk).update(last_visit=today - dt.timedelta(days=8 * 365))
    recent = make_client(full_name="新客户", phone="13900000002")
    Client.objects.filter(pk=recent.pk).update(last_visit=today - dt.timedelta(days=30))
    return old, recent


def test_the_nightly_job_proposes_clients_past_the_policy_once(old_and_new):
    old, recent = old_and_new
    assert retention.propose()["proposed"] == 1
    (proposal,) = RetentionProposal.objects.all()
    assert proposal.client_id == old.pk and proposal.state == "proposed"
    assert retention.propose()["proposed"] == 0  # not proposed twice
    assert Client.objects.filter(pk=old.pk).exists()  # nothing destroyed without a decision


def test_the_retention_job_runs_from_the_jobs_page_machinery(old_and_new):
    run = jobs.execute(jobs.create_run("retention", trigger="command").pk)
    assert run.status == "succeeded" and run.summary["proposed"] == 1


def test_an_automatic_policy_destroys_at_once_with_a_certificate(old_and_new):
    old, recent = old_and_new
    RetentionPolicy.objects.filter(key="client").update(automatic=True)
    result = retention.propose()
    assert result["destroyed_automatically"] == 1
    assert not Client.objects.filter(pk=old.pk).exists() and Client.objects.filter(pk=recent.pk).exists()
    done = Destruction.objects.get(client_id=old.pk)
    assert done.basis == "retention" and done.state == "certified"


def test_an_owner_destroys_or_keeps_proposed_clients_after_the_password(
        old_and_new, make_client, owner, login):
    old, _recent = old_and_new
    other = make_client(full_name="另一位", phone="13900000003")
    Client.objects.filter(pk=other.pk).update(last_visit=dt.date(2010, 1, 1))
    retention.propose()
    first = RetentionProposal.objects.get(client_id=old.pk)
    second = RetentionProposal.objects.get(client_id=other.pk)
    http = login(owner)
    page = http.get("/clients/retention/").content.decode()
    assert old.code in page and other.code in page
    assert "/accounts/reauth/" in http.post(f"/clients/retention/{first.pk}/",
                                            {"decision": "approve"})["Location"]
    http = login(owner, reauthed=True)
    http.post(f"/clients/retention/{first.pk}/", {"decision": "approve"})
    http.post(f"/clients/retention/{second.pk}/", {"decision": "keep"})
    assert not Client.objects.filter(pk=old.pk).exists()
    assert Client.objects.filter(pk=other.pk).exists()
    first.refresh_from_db()
    assert first.state == "approved" and first.decided_by == owner
    assert first.destruction.approved_by == owner
    assert RetentionProposal.objects.get(pk=second.pk).state == "dismissed"


def test_a_legal_hold_stops_proposals_and_every_destruction(old_and_new, owner, login):
    old, _recent = old_and_new
    retention.propose()
    http = login(owner, reauthed=True)
    until = timezone.localdate() + dt.timedelta(days=90)
    http.post("/clients/retention/holds/", {"code": old.code, "reason": "消费纠纷调查中",
                                            "until": until.isoformat()})
    hold = LegalHold.objects.get(client_id=old.pk)
    assert RetentionProposal.objects.get(client_id=old.pk).state == "dismissed"  # withdrawn
    assert retention.propose()["proposed"] == 0
    with pytest.raises(CommandError, match="legal hold"):
        call_command("client_destroy", old.code, "--reason", "request", stdout=StringIO())
    refused = http.post(f"/clients/{old.pk}/destroy/", {"basis": "request", "reason": "x",
                                                         "confirm": "on"})
    assert "legal hold" in refused.content.decode()
    assert Client.objects.filter(pk=old.pk).exists()
    assert AccessEvent.objects.filter(action=actions.LEGAL_HOLD_PLACE, client_id=old.pk).exists()
    http.post(f"/clients/retention/holds/{hold.pk}/lift/")
    assert retention.propose()["proposed"] == 1  # proposed again once lifted


def test_bad_policy_and_hold_input_is_refused_with_a_message(owner, login, make_client):
    http = login(owner, reauthed=True)
    refused = http.post("/clients/retention/policy/", {"key": "client", "client-years": "0",
                                                       "client-enabled": "on"})
    assert refused.status_code == 400 and "Between 1 and 50 years" in refused.content.decode()
    assert RetentionPolicy.objects.get(key="client").years == 7
    unknown = http.post("/clients/retention/holds/", {"code": "ZZ-9", "reason": "x",
                                                      "until": "2030-01-01"})
    assert unknown.status_code == 400 and "No client has this code" in unknown.content.decode()
    saved = http.post("/clients/retention/policy/", {"key": "photos", "photos-years": "2",
                                                     "photos-enabled": "on"})
    assert saved.status_code == 302 and RetentionPolicy.objects.get(key="photos").years == 2
    assert RetentionPolicy.objects.get(key="client").years == 7


@pytest.mark.parametrize("role", ["manager", "auditor"])
def test_only_owners_see_retention(role, request, login):
    http = login(request.getfixturevalue(role), reauthed=True)
    assert http.get("/clients/retention/").status_code == 403
    assert http.post("/clients/retention/policy/", {"key": "client",
                                                    "client-years": "1"}).status_code == 403
    assert RetentionPolicy.objects.get(key="client").years == 7


def test_photos_and_health_notes_have_their_own_shorter_policies(client_record, owner):
    import io

    from records import services
    from records.models import HealthNote, Photo
    from tests.vault.conftest import jpeg_with_gps

    services.photo_add(actor=owner, client=client_record, kind="before",
                       taken_on=dt.date(2020, 1, 1), upload=io.BytesIO(jpeg_with_gps()))
    today = timezone.localdate()
    Client.objects.filter(pk=client_record.pk).update(last_visit=today - dt.timedelta(days=4 * 365))
    assert retention.propose()["proposed"] == 1  # photos (3 years); not health (5), not all (7)
    (photos,) = RetentionProposal.objects.all()
    assert photos.policy.key == "photos"
    retention.approve(photos, actor=owner)
    assert not Photo.objects.filter(client_id=client_record.pk).exists()
    assert HealthNote.objects.filter(client_id=client_record.pk).exists()
    assert Client.objects.filter(pk=client_record.pk).exists()
    certificate = photos.destruction.certificate["certificate"]
    assert certificate["scope"] == "photos" and certificate["key_ids"] == []

    Client.objects.filter(pk=client_record.pk).update(last_visit=today - dt.timedelta(days=6 * 365))
    assert retention.propose()["proposed"] == 1  # now the health notes
    health = RetentionProposal.objects.get(state="proposed")
    assert health.policy.key == "health"
    retention.approve(health, actor=owner)
    assert not HealthNote.objects.filter(client_id=client_record.pk).exists()
    assert Client.objects.filter(pk=client_record.pk).exists()  # the rest is kept
