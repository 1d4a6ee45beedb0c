"""A new data key for one client (suspected compromise): every value and file sealed again
under it, the old key destroyed, the client unchanged to every reader; converges after a
crash; owners only, after the password; the command."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from audit import actions
from audit.models import AccessEvent
from records import rekey, services
from records.models import BeautyProfile, Client, HealthNote, Photo, Treatment
from tests.vault.conftest import jpeg_with_gps, signature_data_url
from vault import aead, keystore
from vault.fields import _files_root
from vault.models import DataKey


@pytest.fixture
def system_scope():
    from access import door

    def open_(*subjects):
        return door.open_for_system(actor="rekey-tests", purpose="vault core test",
                                    subjects=list(subjects))

    return open_


@pytest.fixture
def full_client(client_record, owner, stylist):
    services.treatment_add(actor=owner, client=client_record, performed_on=dt.date(2026, 3, 1),
                           service="染发", products=["欧莱雅"], colour_formula="6/0 + 20vol",
                           notes="头皮敏感", price=Decimal("380.00"))
    services.photo_add(actor=owner, client=client_record, kind="before",
                       taken_on=dt.date(2026, 3, 1), upload=io.BytesIO(jpeg_with_gps()))
    return client_record


def generations(client) -> set[int]:
    """The key generations every stored value and file of the client names."""
    found = set()
    for model in rekey.sealed_models():
        for row in model.objects.filter(**{model.VAULT_SUBJECT_FIELD: client.pk}):
            for field in row._meta.concrete_fields:
                raw = row.__dict__.get(field.attname)
                if hasattr(raw, "blob"):
                    found.add(aead.key_id(raw.blob).generation)
                elif type(field).__name__ == "EncryptedFileField" and raw:
                    found.add(aead.key_id((_files_root() / raw[:2] / raw).read_bytes()).generation)
    return found


def what_owner_sees(client, system_scope) -> tuple:
    with system_scope(client.pk):
        c = Client.objects.get(pk=client.pk)
        t = Treatment.objects.get(client=client)
        photo = Photo.objects.get(client=client)
        return (c.full_name, c.phone, c.email, c.birthday,
                BeautyProfile.objects.get(client=client).skin_type,
                HealthNote.objects.get(client=client).allergies,
                t.service, t.products, t.colour_formula, t.price,
                photo.image.read(), photo.thumbnail.read() if photo.thumbnail else None)


def test_every_value_and_file_is_sealed_again_and_the_old_key_destroyed(
        full_client, owner, system_scope, django_capture_on_commit_callbacks):
    before = what_owner_sees(full_client, system_scope)
    old_files = [Photo.objects.get(client=full_client).__dict__["image"]]
    assert (_files_root() / old_files[0][:2] / old_files[0]).exists()
    assert generations(full_client) == {1}
    with django_capture_on_commit_callbacks(execute=True):
        counts = rekey.client_rekey(full_client.pk)
    # Client 4 (name, phone, email, birthday), profile 1, health note 1, treatment 5;
    # the photo (its thumbnail is made later, by a task).
    assert (counts["generation"], counts["values"], counts["files"]) == (2, 11, 1)
    assert generations(full_client) == {2}
    assert list(DataKey.objects.filter(subject_id=full_client.pk)
                .values_list("generation", flat=True)) == [2]
    assert what_owner_sees(full_client, system_scope) == before
    photo = Photo.objects.get(client=full_client)
    assert {photo.__dict__["image"], photo.__dict__["thumbnail"]}.isdisjoint(old_files)
    assert not any((_files_root() / name[:2] / name).exists() for name in old_files)
    # Search goes through blind indexes (the index key), which stay.
    from records.selectors import client_search
    _kind, found = client_search(owner, "13812345678")
    assert [c.pk for c in found] == [full_client.pk]


def test_a_rekey_stopped_half_way_is_finished_by_the_next(full_client, system_scope,
                                                          monkeypatch):
    before = what_owner_sees(full_client, system_scope)
    real, done = rekey._reseal, []

    def crash_after_two(row, generation, counts):
        if len(done) == 2:
            raise RuntimeError("killed")
        real(row, generation, counts)
        done.append(row)

    monkeypatch.setattr(rekey, "_reseal", crash_after_two)
    with pytest.raises(RuntimeError):
        rekey.client_rekey(full_client.pk)
    assert generations(full_client) == {1, 2}  # both keys kept: everything readable
    assert what_owner_sees(full_client, system_scope) == before
    monkeypatch.setattr(rekey, "_reseal", real)
    counts = rekey.client_rekey(full_client.pk)
    assert counts["generation"] == 2  # the same re-key, finished
    assert generations(full_client) == {2} and what_owner_sees(full_client, system_scope) == before


def test_a_destroyed_client_cannot_be_rekeyed(client_record):
    keystore.shred(client_record.pk, actor="owner", reason="test")
    with pytest.raises(CommandError, match="destroyed"):
        call_command("vault_rekey", client_record.code)


def test_the_command_takes_a_code_or_an_id(full_client):
    out = StringIO()
    call_command("vault_rekey", full_client.code, stdout=out)
    assert out.getvalue().splitlines()[-1].startswith(f"re-keyed {full_client.code}")
    out = StringIO()
    call_command("vault_rekey", str(full_client.pk), stdout=out)
    assert "generation 3" in out.getvalue()
    with pytest.raises(CommandError, match="no client"):
        call_command("vault_rekey", "ZZ-0000")


def test_an_owner_rekeys_from_the_client_page_after_the_password(full_client, owner, login):
    http = login(owner)
    page = http.get(f"/clients/{full_client.pk}/").content.decode()
    assert 'id="rekey"' in page
    assert "/accounts/reauth/" in http.post(f"/clients/{full_client.pk}/rekey/")["Location"]
    assert generations(full_client) == {1}
    http = login(owner, reauthed=True)
    response = http.post(f"/clients/{full_client.pk}/rekey/", follow=True)
    assert "has a new data key" in response.content.decode()
    assert generations(full_client) == {2}
    event = AccessEvent.objects.get(action=actions.CLIENT_REKEY)
    assert event.actor == owner and event.client_id == full_client.pk
    assert AccessEvent.objects.filter(action=actions.SYSTEM_OPEN, actor_label="system:rekey",
                                      purpose=actions.REKEY_CLIENT).exists()


@pytest.mark.parametrize("role", ["manager", "stylist"])
def test_other_roles_neither_see_nor_use_it(full_client, role, request, login):
    http = login(request.getfixturevalue(role), reauthed=True)
    assert 'id="rekey"' not in http.get(f"/clients/{full_client.pk}/").content.decode()
    assert http.post(f"/clients/{full_client.pk}/rekey/").status_code == 404
    assert generations(full_client) == {1}
    assert AccessEvent.objects.filter(action=actions.CLIENT_REKEY, outcome="denied").exists()


def test_consents_signatures_and_rights_requests_are_sealed_again_too(
        client_record, owner, system_scope, django_capture_on_commit_callbacks):
    """Models of the apps above records (here rights) are found, not listed: a signed
    consent and a rights request's text move to the new key with the rest."""
    from access import door
    from records import consent
    from records.models import ConsentEvent
    from rights import requests
    from rights.models import Channel, RightsRequest

    event = consent.record_by_staff(actor=owner, client=client_record, purpose="health",
                                    action="given", channel="in_person",
                                    signature_data_url=signature_data_url())
    with door.open_case_file(user=owner, subjects=[client_record.pk],
                             purpose=actions.HANDLE_RIGHTS_REQUEST,
                             action=actions.RIGHTS_REQUEST_OPEN):
        asked = requests.open_request(client=client_record, kind=RightsRequest.Kind.CORRECTION,
                                      channel=Channel.PHONE, details="电话号码换了", actor=owner)
    with system_scope(client_record.pk):
        signature = ConsentEvent.objects.get(pk=event.pk).signature.read()
    assert signature.startswith(b"\x89PNG") and generations(client_record) == {1}
    with django_capture_on_commit_callbacks(execute=True):
        counts = rekey.client_rekey(client_record.pk)
    assert counts["files"] >= 1 and generations(client_record) == {2}
    with system_scope(client_record.pk):
        assert ConsentEvent.objects.get(pk=event.pk).signature.read() == signature
        assert RightsRequest.objects.get(pk=asked.pk).details == "电话号码换了"
