"""What is recorded: every access to client data and every security-relevant action, with
who, from where and which request, and never the personal data itself."""

from __future__ import annotations

import datetime as dt
import io

from django.urls import reverse

from access.models import Agreement, Grant
from audit import subject_index
from audit.models import AccessEvent, EventSubject
from records import services as records
from records.models import ClientForm, Photo
from tests.audit.conftest import PDF, PLAINTEXT, events, from_request, jpeg, last_event

IP = "203.0.113.7"
AGENT = "Mozilla/5.0 (iPad; salon front desk)"
FACTS = {"REMOTE_ADDR": IP, "HTTP_USER_AGENT": AGENT}


def _no_plaintext(event: AccessEvent) -> None:
    text = " ".join(str(getattr(event, f.attname)) for f in AccessEvent._meta.concrete_fields)
    for value in PLAINTEXT:
        assert value not in text


def test_opening_a_client_records_who_what_why_and_the_request(login, stylist, client_record,
                                                               location):
    response = login(stylist).get(reverse("records:client_detail", args=[client_record.pk]),
                                  **FACTS)
    assert response.status_code == 200
    event = last_event("client.open")
    assert event.actor == stylist and event.actor_label == "stylist"
    assert event.role == "stylist"
    assert event.client_id == client_record.pk
    assert event.client_code == client_record.code
    assert event.location_code == location.code
    assert event.data_class == 4
    assert event.purpose == "view client record"
    assert event.break_glass is False
    assert event.outcome == "allowed"
    from_request(event, response, ip=IP, agent=AGENT)
    _no_plaintext(event)


def test_opening_beyond_the_ceiling_is_recorded_as_denied(login, receptionist, client_record):
    photo = records.photo_add(actor=client_record.assigned_staff, client=client_record,
                              upload=io.BytesIO(jpeg()), kind="before",
                              taken_on=dt.date(2024, 5, 1))
    response = login(receptionist).get(
        reverse("records:photo_view", args=[client_record.pk, photo.pk]), **FACTS)
    assert response.status_code == 404
    event = last_event("photo.view")
    assert event.outcome == "denied" and event.actor == receptionist
    assert event.role == "reception" and event.client_code == client_record.code
    assert event.data_class == 4
    from_request(event, response, ip=IP, agent=AGENT)


def test_a_break_glass_opening_is_flagged(login, stylist, make_client):
    from access import services as access_services

    other = make_client(full_name="周敏", phone="13600001111", allergies="对乳胶过敏")
    access_services.break_glass_open(actor=stylist, client=other,
                                     reason="顾客到店要求当场染发，需要确认过敏史以免发生过敏反应")
    response = login(stylist).get(reverse("records:client_detail", args=[other.pk]), **FACTS)
    assert response.status_code == 200
    event = last_event("client.open")
    assert event.break_glass is True and event.data_class == 4
    assert "break_glass_id" in event.detail


def test_an_ordinary_opening_is_not_flagged_as_break_glass(login, owner, client_record):
    login(owner).get(reverse("records:client_detail", args=[client_record.pk]))
    assert last_event("client.open").break_glass is False


def test_a_search_records_the_kind_and_a_keyed_hash_never_the_term(login, receptionist,
                                                                   client_record):
    response = login(receptionist).post(reverse("records:client_list"), {"q": "李娜"}, **FACTS)
    assert response.status_code == 200
    event = last_event("client.search")
    assert event.detail["query_kind"] == "name"
    assert len(event.detail["term_hmac"]) >= 32
    assert event.subjects == [str(client_record.pk)]
    from_request(event, response, ip=IP, agent=AGENT)
    _no_plaintext(event)
    # The same term searched again gives the same hash, a different one another hash.
    login(receptionist).post(reverse("records:client_list"), {"q": "李娜"})
    login(receptionist).post(reverse("records:client_list"), {"q": "王芳"})
    hashes = [e.detail["term_hmac"] for e in events("client.search")]
    assert hashes[0] == hashes[1] != hashes[2]


def test_a_phone_search_records_its_kind_without_the_digits(login, receptionist, client_record):
    login(receptionist).post(reverse("records:client_list"), {"q": "5678"})
    event = last_event("client.search")
    assert event.detail["query_kind"] == "phone_last4"
    assert "5678" not in str(event.detail)


def test_a_list_records_the_clients_shown_as_subjects(login, receptionist, client_record,
                                                      make_client, other_location):
    second = make_client(full_name="张伟", phone="13500002222")
    elsewhere = make_client(location=other_location, full_name="陈静", phone="13300003333")
    response = login(receptionist).get(reverse("records:client_list"), **FACTS)
    assert response.status_code == 200
    event = last_event("client.list")
    assert set(event.subjects) == {str(client_record.pk), str(second.pk)}
    assert str(elsewhere.pk) not in event.subjects
    subject_index.catch_up()  # the auditor's index of them is filled after the fact
    indexed = set(EventSubject.objects.filter(event=event).values_list("client_id", flat=True))
    assert indexed == {client_record.pk, second.pk}
    from_request(event, response, ip=IP, agent=AGENT)


def test_viewing_a_photo_is_recorded(login, stylist, client_record):
    photo = records.photo_add(actor=stylist, client=client_record, upload=io.BytesIO(jpeg()),
                              kind="before", taken_on=dt.date(2024, 5, 1))
    response = login(stylist).get(reverse("records:photo_view",
                                          args=[client_record.pk, photo.pk]), **FACTS)
    assert response.status_code == 200
    event = last_event("photo.view")
    assert event.outcome == "allowed" and event.client_id == client_record.pk
    assert event.data_class == 4 and event.purpose == "view a photo"
    from_request(event, response, ip=IP, agent=AGENT)


def test_downloading_a_signed_form_is_recorded(login, owner, client_record):
    signed = records.form_add(actor=owner, client=client_record, upload=io.BytesIO(PDF),
                              kind="consent", signed_on=dt.date(2024, 5, 1))
    response = login(owner).get(reverse("records:form_view",
                                        args=[client_record.pk, signed.pk]), **FACTS)
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    event = last_event("form.view")
    assert event.actor == owner and event.client_code == client_record.code
    assert event.data_class == 4 and event.outcome == "allowed"
    from_request(event, response, ip=IP, agent=AGENT)


def test_creating_a_client_is_recorded(login, receptionist, location):
    response = login(receptionist).post(reverse("records:client_create"),
                                        {"full_name": "赵敏", "phone": "13711112222"}, **FACTS)
    assert response.status_code == 302
    event = last_event("client.create")
    assert event.actor == receptionist and event.role == "reception"
    assert event.client_id is not None and event.data_class == 2
    assert event.location_code == location.code
    from_request(event, response, ip=IP, agent=AGENT)
    _no_plaintext(event)


def test_the_creation_event_names_the_new_clients_code(owner, client_record):
    event = last_event("client.create", client_id=client_record.pk)
    assert event.client_code == client_record.code


def test_updating_a_client_is_recorded(login, owner, client_record):
    response = login(owner).post(reverse("records:client_edit", args=[client_record.pk]), {
        "full_name": "李娜", "phone": "13800000000", "email": "lina@example.cn",
        "birthday": "1991-03-14", "allergies": "对PPD染发剂过敏", "skin_type": "混合性"}, **FACTS)
    assert response.status_code == 302
    event = last_event("client.update")
    assert event.actor == owner and event.client_id == client_record.pk
    assert event.client_code == client_record.code and event.outcome == "allowed"
    from_request(event, response, ip=IP, agent=AGENT)
    assert "13800000000" not in str(event.detail)


def test_recording_a_treatment_is_recorded(login, stylist, client_record):
    response = login(stylist).post(reverse("records:treatment_add", args=[client_record.pk]),
                                   {"performed_on": "2024-06-01", "service": "染发",
                                    "colour_formula": "6/0 + 20vol", "price": "380"}, **FACTS)
    assert response.status_code == 302
    event = last_event("treatment.create")
    assert event.actor == stylist and event.client_id == client_record.pk
    assert event.data_class == 3
    from_request(event, response, ip=IP, agent=AGENT)
    assert "6/0" not in str(event.detail)


def test_adding_a_photo_is_recorded(login, stylist, client_record):
    upload = io.BytesIO(jpeg())
    upload.name = "before.jpg"
    response = login(stylist).post(reverse("records:photo_add", args=[client_record.pk]),
                                   {"image": upload, "kind": "before",
                                    "taken_on": "2024-05-01"}, **FACTS)
    assert response.status_code == 302
    assert Photo.objects.filter(client=client_record).count() == 1
    event = last_event("photo.create")
    assert event.actor == stylist and event.client_id == client_record.pk
    assert event.data_class == 4
    from_request(event, response, ip=IP, agent=AGENT)


def test_adding_a_signed_form_is_recorded(login, owner, client_record):
    upload = io.BytesIO(PDF)
    upload.name = "consent.pdf"
    response = login(owner).post(reverse("records:form_add", args=[client_record.pk]),
                                 {"document": upload, "kind": "consent",
                                  "signed_on": "2024-05-01"}, **FACTS)
    assert response.status_code == 302
    assert ClientForm.objects.count() == 1
    from_request(last_event("form.create"), response, ip=IP, agent=AGENT)


def test_signing_in_is_recorded(client, stylist):
    response = client.post(reverse("login"), {"username": "stylist",
                                              "password": "correct-horse-battery-9"}, **FACTS)
    assert response.status_code == 302
    event = last_event("auth.login")
    assert event.actor == stylist and event.role == "stylist" and event.outcome == "allowed"
    from_request(event, response, ip=IP, agent=AGENT)


def test_signing_out_is_recorded(login, stylist):
    http = login(stylist)
    response = http.post(reverse("logout"), **FACTS)
    assert response.status_code in (200, 302)
    event = last_event("auth.logout")
    assert event.actor == stylist
    from_request(event, response, ip=IP, agent=AGENT)


def test_a_failed_sign_in_is_recorded_without_the_password(client, stylist):
    response = client.post(reverse("login"), {"username": "stylist",
                                              "password": "wrong-password-1"}, **FACTS)
    assert response.status_code == 200
    event = last_event("auth.login_failed")
    assert event.outcome == "denied" and event.actor is None
    assert event.actor_label == "stylist"
    from_request(event, response, ip=IP, agent=AGENT)
    assert "wrong-password-1" not in str(event.detail) + event.purpose


def test_a_lockout_is_recorded(client, stylist, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = client.post(reverse("login"), {"username": "stylist",
                                                  "password": "wrong-password-1"}, **FACTS)
    assert response.status_code == 429
    event = last_event("auth.lockout")
    assert event.outcome == "denied" and event.actor_label == "stylist"
    from_request(event, response, ip=IP, agent=AGENT)
    assert len(events("auth.login_failed")) == settings.AXES_FAILURE_LIMIT


def test_a_role_change_is_recorded_with_before_and_after(login, owner, receptionist, location):
    response = login(owner).post(reverse("access:staff_role", args=[receptionist.pk]),
                                 {"role": "manager", "location": location.pk}, **FACTS)
    assert response.status_code == 302
    event = last_event("staff.role_change")
    assert event.actor == owner and event.role == "owner"
    assert event.detail["user"] == "reception"
    assert event.detail["before"]["role"] == "reception"
    assert event.detail["after"]["role"] == "manager"
    from_request(event, response, ip=IP, agent=AGENT)


def test_giving_and_revoking_a_grant_is_recorded(login, owner, receptionist, client_record):
    http = login(owner, reauthed=True)
    response = http.post(reverse("access:grant_give", args=[receptionist.pk]),
                         {"client_code": client_record.code}, **FACTS)
    assert response.status_code == 302
    given = last_event("grant.give")
    assert given.client_id == client_record.pk and given.detail["user"] == "reception"
    from_request(given, response, ip=IP, agent=AGENT)
    grant = Grant.objects.get(user=receptionist, client_id=client_record.pk)
    response = http.post(reverse("access:grant_revoke", args=[grant.pk]), **FACTS)
    assert response.status_code == 302
    revoked = last_event("grant.revoke")
    assert revoked.client_id == client_record.pk and revoked.detail["user"] == "reception"
    from_request(revoked, response, ip=IP, agent=AGENT)


def test_publishing_and_accepting_the_agreement_is_recorded(login, owner, stylist):
    response = login(owner, reauthed=True).post(
        reverse("access:agreement_publish"),
        {"title": "保密协议", "body": "不得泄露客户信息。"}, **FACTS)
    assert response.status_code == 302
    published = last_event("agreement.publish")
    assert published.actor == owner and published.detail == {"version": 1}
    from_request(published, response, ip=IP, agent=AGENT)
    assert Agreement.objects.count() == 1
    response = login(stylist).post(reverse("agreement"), **FACTS)
    assert response.status_code == 302
    accepted = last_event("agreement.accept")
    assert accepted.actor == stylist and accepted.detail == {"version": 1}
    from_request(accepted, response, ip=IP, agent=AGENT)


def test_recording_training_is_recorded(login, owner, receptionist):
    response = login(owner).post(reverse("access:staff_training", args=[receptionist.pk]), {
        "course": "PIPL basics", "completed_on": dt.date.today().isoformat(),
        "valid_days": 365}, **FACTS)
    assert response.status_code == 302
    event = last_event("training.record")
    assert event.detail["user"] == "reception" and event.detail["course"] == "PIPL basics"
    from_request(event, response, ip=IP, agent=AGENT)


def test_an_export_is_recorded_with_its_row_count(login, auditor, stylist, client_record):
    login(stylist).get(reverse("records:client_detail", args=[client_record.pk]))
    http = login(auditor, reauthed=True)
    response = http.get(reverse("audit:export_csv"), {"action": "client.open"}, **FACTS)
    assert response.status_code == 200
    b"".join(response.streaming_content)
    event = last_event("audit.export.csv")
    assert event.actor == auditor and event.outcome == "allowed"
    assert event.detail["rows"] == 1
    assert event.detail["filter"] == {"action": "client.open"}
    from_request(event, response, ip=IP, agent=AGENT)
    response = http.get(reverse("audit:export_jsonl"), {"action": "client"}, **FACTS)
    b"".join(response.streaming_content)
    event = last_event("audit.export.jsonl")
    assert event.detail["rows"] == AccessEvent.objects.filter(action__startswith="client").count()
    from_request(event, response, ip=IP, agent=AGENT)


def test_events_outside_a_request_carry_no_request_facts(owner, client_record):
    records.client_update(actor=owner, client=client_record, data={"phone": "13800000001"})
    event = last_event("client.update")
    assert event.request_id == "" and event.ip is None and event.user_agent == ""


def test_a_malformed_address_is_dropped_not_stored(login, stylist, client_record):
    login(stylist).get(reverse("records:client_detail", args=[client_record.pk]),
                       REMOTE_ADDR="not-an-ip'; DROP TABLE", HTTP_USER_AGENT=AGENT)
    assert last_event("client.open").ip is None


def test_an_ipv6_address_is_stored(login, stylist, client_record):
    login(stylist).get(reverse("records:client_detail", args=[client_record.pk]),
                       REMOTE_ADDR="2001:db8::1")
    assert last_event("client.open").ip == "2001:db8::1"
