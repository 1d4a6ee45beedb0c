"""The staff pages, told through the people who use them."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from django.urls import reverse
from PIL import Image

from audit.models import AccessEvent
from records.models import Client, Photo


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 90)).save(out, format="JPEG")
    return out.getvalue()


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get(reverse("records:client_list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_sign_in_page_works_in_both_languages(client):
    zh = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="zh-CN")
    en = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en")
    assert "登录" in zh.content.decode()
    assert "Sign in" in en.content.decode()


def test_staff_sign_in_with_their_password(client, receptionist):
    response = client.post(reverse("login"),
                           {"username": "reception", "password": "correct-horse-battery-9"})
    assert response.status_code == 302
    assert client.get(reverse("records:client_list")).status_code == 200


def test_owner_sees_the_client_list_with_names(login, owner, client_record):
    page = login(owner).get(reverse("records:client_list")).content.decode()
    assert "李娜" in page and "13812345678" in page
    assert "‹sealed›" not in page


def test_each_row_names_its_location_and_stylist_and_opens_the_client(login, owner, stylist,
                                                                    client_record, make_client):
    from access.models import StaffProfile

    StaffProfile.objects.filter(user=stylist).update(display_name="王美发师")
    nobodys = make_client(full_name="周洁", phone="13900001111")
    page = login(owner).get(reverse("records:client_list")).content.decode()
    row = page[page.index(client_record.code):].split("</tr>")[0]
    assert "北京国贸店" in row and "王美发师" in row
    assert f'href="{reverse("records:client_detail", args=[client_record.pk])}"' in page
    unassigned = page[page.index(nobodys.code):].split("</tr>")[0]
    assert "北京国贸店" in unassigned and "—" in unassigned and "王美发师" not in unassigned


def test_listing_is_recorded_with_the_clients_shown(login, owner, client_record):
    login(owner).get(reverse("records:client_list"))
    event = AccessEvent.objects.filter(action="client.list").latest("id")
    assert event.subjects == [str(client_record.pk)]
    assert event.actor == owner and event.outcome == "allowed"


def test_search_by_last_four_digits_finds_the_client(login, receptionist, client_record):
    page = login(receptionist).post(reverse("records:client_list"), {"q": "5678"}).content.decode()
    assert "李娜" in page


@pytest.mark.parametrize("term", ["13812345678", "+86 138 1234 5678", "李娜", "李", "LINA@example.cn"])
def test_search_finds_the_client_by_each_kind(login, owner, client_record, make_client, term):
    make_client(full_name="赵敏", phone="13700009999", email="zm@example.cn")
    page = login(owner).post(reverse("records:client_list"), {"q": term}).content.decode()
    assert "李娜" in page
    assert "赵敏" not in page


def test_search_event_keeps_a_keyed_hash_never_the_term(login, owner, client_record):
    login(owner).post(reverse("records:client_list"), {"q": "李娜"})
    event = AccessEvent.objects.filter(action="client.search").latest("id")
    assert event.detail["query_kind"] == "name"
    assert "李娜" not in str(event.detail) and len(event.detail["term_hmac"]) == 32


def test_receptionist_never_sees_allergies(login, receptionist, client_record):
    page = login(receptionist).get(reverse("records:client_detail", args=[client_record.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "李娜" in text
    assert "PPD" not in text and "混合性" not in text


def test_assigned_stylist_sees_health_notes(login, stylist, client_record):
    text = login(stylist).get(reverse("records:client_detail", args=[client_record.pk])).content.decode()
    assert "对PPD染发剂过敏" in text and "混合性" in text


def test_unassigned_stylist_sees_contact_only(login, make_client, stylist):
    other = make_client(full_name="孙丽", allergies="海鲜过敏")
    text = login(stylist).get(reverse("records:client_detail", args=[other.pk])).content.decode()
    assert "孙丽" in text and "海鲜过敏" not in text


def test_other_location_gets_the_same_404_as_a_missing_client(login, outsider, client_record):
    c = login(outsider)
    forbidden = c.get(reverse("records:client_detail", args=[client_record.pk]))
    missing = c.get(reverse("records:client_detail", args=["00000000-0000-4000-8000-000000000000"]))
    assert forbidden.status_code == missing.status_code == 404
    def without_tokens(body: bytes) -> str:
        text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", body.decode())
        return re.sub(r"/clients/[0-9a-f-]{36}/", "/clients/ID/", text)

    assert without_tokens(forbidden.content) == without_tokens(missing.content)


def test_auditor_cannot_open_the_client_list_or_a_record(login, auditor, client_record):
    c = login(auditor)
    assert c.get(reverse("records:client_list")).status_code == 403
    response = c.get(reverse("records:client_detail", args=[client_record.pk]))
    assert response.status_code == 404
    assert "李娜" not in response.content.decode()
    denied = AccessEvent.objects.filter(actor=auditor, outcome="denied")
    assert denied.exists()


def test_receptionist_creates_a_client_with_contact_details(login, receptionist, location):
    c = login(receptionist)
    form = c.get(reverse("records:client_create")).content.decode()
    assert "allergies" not in form  # beyond the receptionist's ceiling
    response = c.post(reverse("records:client_create"),
                      {"full_name": "周杰", "phone": "13611112222", "email": "zj@example.cn"})
    created = Client.objects.get()
    assert response.status_code == 302 and created.code == "BJ-000001"
    assert "周杰" in c.get(response["Location"]).content.decode()


def test_create_form_shows_errors_next_to_the_field(login, owner):
    response = login(owner).post(reverse("records:client_create"),
                                 {"full_name": "", "phone": "abc", "email": "nope"})
    assert response.status_code == 200
    assert Client.objects.count() == 0
    assert response.content.decode().count('class="error"') >= 3


def test_owner_edits_health_notes(login, owner, client_record):
    c = login(owner)
    url = reverse("records:client_edit", args=[client_record.pk])
    form = c.get(url).content.decode()
    assert "对PPD染发剂过敏" in form
    response = c.post(url, {"full_name": "李娜", "phone": "13812345678",
                            "email": "lina@example.cn", "birthday": "1991-03-14",
                            "allergies": "对PPD及坚果过敏", "skin_type": "混合性"})
    assert response.status_code == 302
    assert "对PPD及坚果过敏" in c.get(response["Location"]).content.decode()


def test_stylist_adds_a_treatment_with_formula_and_price(login, stylist, client_record):
    c = login(stylist)
    response = c.post(reverse("records:treatment_add", args=[client_record.pk]), {
        "performed_on": dt.date.today().isoformat(), "service": "染发",
        "products": "欧莱雅 7/1\n6% 双氧", "colour_formula": "7/1 + 8/0 1:1", "price": "388.00"})
    assert response.status_code == 302
    page = c.get(response["Location"]).content.decode()
    assert "7/1 + 8/0 1:1" in page and "388.00" in page
    client_record.refresh_from_db()
    assert client_record.last_visit == dt.date.today()


def test_receptionist_cannot_add_a_treatment(login, receptionist, client_record):
    response = login(receptionist).post(reverse("records:treatment_add", args=[client_record.pk]),
                                        {"performed_on": "2024-01-01", "service": "剪发"})
    assert response.status_code == 404


def test_photo_is_uploaded_encrypted_and_served_only_through_the_audited_view(
        login, stylist, client_record, settings):
    c = login(stylist)
    upload = io.BytesIO(_jpeg())
    upload.name = "before.jpg"
    response = c.post(reverse("records:photo_add", args=[client_record.pk]),
                      {"image": upload, "kind": "before", "taken_on": "2024-05-01"})
    assert response.status_code == 302
    photo = Photo.objects.get()
    url = reverse("records:photo_view", args=[client_record.pk, photo.pk])
    served = c.get(url)
    assert served.status_code == 200 and served["Content-Type"] == "image/jpeg"
    assert served["Cache-Control"] == "no-store, private"
    Image.open(io.BytesIO(served.content)).verify()
    assert AccessEvent.objects.filter(action="photo.view", client_id=client_record.pk).exists()
    assert str(settings.VAULT_FILES_ROOT) not in served.content.decode("latin-1")


def test_receptionist_cannot_view_a_photo(login, stylist, receptionist, client_record):
    from records import services

    upload = io.BytesIO(_jpeg())
    photo = services.photo_add(actor=stylist, client=client_record, upload=upload, kind="after",
                               taken_on=dt.date(2024, 5, 1))
    url = reverse("records:photo_view", args=[client_record.pk, photo.pk])
    response = login(receptionist).get(url)
    assert response.status_code == 404


def test_a_non_image_upload_is_refused_with_a_message(login, stylist, client_record):
    upload = io.BytesIO(b"MZ\x90\x00 not an image")
    upload.name = "photo.jpg"
    response = login(stylist).post(reverse("records:photo_add", args=[client_record.pk]),
                                   {"image": upload, "kind": "before", "taken_on": "2024-05-01"})
    assert response.status_code == 200
    assert Photo.objects.count() == 0
    assert 'class="error"' in response.content.decode()


def test_signed_consent_form_pdf_is_stored_and_downloadable(login, owner, client_record):
    c = login(owner)
    pdf = io.BytesIO(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    pdf.name = "consent.pdf"
    response = c.post(reverse("records:form_add", args=[client_record.pk]),
                      {"document": pdf, "kind": "consent", "signed_on": "2024-05-01"})
    assert response.status_code == 302
    form = client_record.forms.get()
    served = c.get(reverse("records:form_view", args=[client_record.pk, form.pk]))
    assert served.content.startswith(b"%PDF-1.4")
    assert "attachment" in served["Content-Disposition"]


def test_language_switch_changes_the_interface(login, owner):
    client = login(owner)
    client.post(reverse("set_language"), {"language": "en", "next": "/clients/"})
    assert "Clients" in client.get("/clients/").content.decode()
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/clients/"})
    assert "客户" in client.get("/clients/").content.decode()


def test_photo_thumbnail_is_made_by_a_task_that_is_given_only_the_id(
        stylist, client_record, django_capture_on_commit_callbacks, monkeypatch):
    from records import services, tasks

    sent = []
    monkeypatch.setattr(tasks.make_photo_thumbnail, "delay", lambda *a, **k: sent.append((a, k)))
    with django_capture_on_commit_callbacks(execute=True):
        photo = services.photo_add(actor=stylist, client=client_record, upload=io.BytesIO(_jpeg()),
                                   kind="before", taken_on=dt.date(2024, 5, 1))
    assert sent == [((str(photo.pk),), {})]
    assert tasks.make_photo_thumbnail(str(photo.pk)) is True
    assert tasks.make_photo_thumbnail(str(photo.pk)) is False  # a second run changes nothing
    photo.refresh_from_db()
    assert photo.thumbnail and repr(photo.thumbnail) == "‹sealed›"
    assert AccessEvent.objects.filter(actor_label="system:thumbnailer",
                                      subjects=[str(client_record.pk)]).exists()


def test_editing_in_chinese_keeps_the_birthday(login, owner, client_record):
    c = login(owner)
    page = c.get(reverse("records:client_edit", args=[client_record.pk]),
                 HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert 'value="1991-03-14"' in page  # the format a date input accepts in every language
