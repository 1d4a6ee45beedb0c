"""Each page takes its "who may" decisions once: the lookup, the check, the service's door
and the page's links all ask one `policy.Decider`, so they cannot disagree within a request."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from PIL import Image

from access import policy
from access.models import BreakGlass
from records.models import Client, Photo, Treatment
from tests.access.conftest import REASON_OK


@pytest.fixture
def deciders(monkeypatch):
    made = []
    original = policy.Decider.__init__

    def counting(self, user):
        made.append(user)
        original(self, user)

    monkeypatch.setattr(policy.Decider, "__init__", counting)
    return made


def _jpeg() -> io.BytesIO:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 90)).save(out, format="JPEG")
    out.seek(0)
    out.name = "after.jpg"
    return out


@pytest.mark.parametrize("page", ["records:client_detail", "records:client_edit",
                                  "records:treatment_add", "records:photo_add",
                                  "records:form_add"])
def test_a_stylists_page_of_her_client_decides_once(login, stylist, client_record, deciders,
                                                    page):
    http = login(stylist)
    deciders.clear()
    response = http.get(reverse(page, args=[client_record.pk]))
    assert response.status_code == 200
    assert len(deciders) == 1


def test_recording_a_treatment_decides_once_and_records_it(login, stylist, client_record,
                                                          deciders):
    http = login(stylist)
    deciders.clear()
    response = http.post(reverse("records:treatment_add", args=[client_record.pk]),
                         {"performed_on": "2024-05-01", "service": "染发", "products": "",
                          "colour_formula": "6/0 + 20vol", "notes": "", "price": ""})
    assert response.status_code == 302
    assert len(deciders) == 1
    assert Treatment.objects.filter(client=client_record).count() == 1


@pytest.mark.parametrize(("person", "status", "stored"), [("stylist", 302, 1),
                                                        ("receptionist", 404, 0)])
def test_adding_a_photo_decides_once(request, login, client_record, deciders, person, status,
                                     stored):
    """The stylist's photo is stored; the receptionist's ceiling stops short of photos, so
    hers is refused with nothing written. One decision either way."""
    http = login(request.getfixturevalue(person))
    deciders.clear()
    response = http.post(reverse("records:photo_add", args=[client_record.pk]),
                         {"image": _jpeg(), "kind": "after", "taken_on": "2024-05-01"})
    assert response.status_code == status
    assert len(deciders) == 1
    assert Photo.objects.filter(client=client_record).count() == stored


def test_saving_an_edit_decides_once_and_saves(login, stylist, client_record, deciders):
    http = login(stylist)
    url = reverse("records:client_edit", args=[client_record.pk])
    form = http.get(url).context["form"]
    data = {name: value for name, value in form.initial.items() if value is not None}
    data["wechat_id"] = "lina_0314"
    deciders.clear()
    response = http.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert len(deciders) == 1


def test_the_assign_page_decides_once_and_assigns(login, manager, stylist, unassigned_client,
                                                  deciders):
    http = login(manager)
    url = reverse("records:client_assign", args=[unassigned_client.pk])
    deciders.clear()
    assert http.get(url).status_code == 200
    assert len(deciders) == 1
    deciders.clear()
    response = http.post(url, {"staff": stylist.pk, "expires_at": ""})
    assert response.status_code == 302
    assert len(deciders) == 1
    assert Client.objects.get(pk=unassigned_client.pk).assigned_staff == stylist


def test_breaking_the_glass_decides_once_and_opens_it(login, stylist, unassigned_client,
                                                      deciders):
    http = login(stylist, reauthed=True)
    url = reverse("records:break_glass", args=[unassigned_client.pk])
    deciders.clear()
    assert http.get(url).status_code == 200
    assert len(deciders) == 1
    deciders.clear()
    assert http.post(url, {"reason": REASON_OK}).status_code == 302
    assert len(deciders) == 1
    assert BreakGlass.objects.filter(user=stylist, client_id=unassigned_client.pk).exists()


@pytest.mark.parametrize("person", ["stylist", "receptionist", "owner"])
def test_the_list_and_a_search_decide_once(request, login, client_record, deciders, person):
    http = login(request.getfixturevalue(person))
    deciders.clear()
    listed = http.get(reverse("records:client_list"))
    assert listed.status_code == 200 and client_record.code in listed.content.decode()
    assert len(deciders) == 1
    deciders.clear()
    found = http.post(reverse("records:client_list"), {"q": "13812345678"})
    assert found.status_code == 200 and client_record.code in found.content.decode()
    assert len(deciders) == 1
