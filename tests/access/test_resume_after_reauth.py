"""An action that asked for the password again is carried out after it, not lost."""

from __future__ import annotations

import re
import time
from html.parser import HTMLParser

from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from access import pending
from access.models import Grant
from audit import integrity
from audit.models import AccessEvent
from tests.access.conftest import PASSWORD


class _Forms(HTMLParser):
    """The forms of a page: action and the (name, value) of their inputs."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs.get("action"), "id": attrs.get("id"),
                               "fields": []})
        elif tag == "input" and self.forms and attrs.get("name"):
            self.forms[-1]["fields"].append((attrs["name"], attrs.get("value", "")))


def resume_form(response) -> dict:
    parser = _Forms()
    parser.feed(response.content.decode())
    forms = [f for f in parser.forms if f["id"] == "resume-form"]
    assert len(forms) == 1, response.content.decode()[:2000]
    return forms[0]


def current_code(device) -> str:
    """The authenticator's code at the (possibly shifted) clock of the test."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    return f"{totp.token():0{device.digits}d}"


def reauth(http, user, next_url: str, *, code: str | None = None):
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    data = {"password": PASSWORD, "next": next_url}
    if device is not None:
        data["token"] = code or current_code(device)
    return http.post("/accounts/reauth/", data)


def submit(http, form: dict):
    """Post the resume form as the browser (or its script) would."""
    data = {}
    for name, value in form["fields"]:
        data.setdefault(name, []).append(value)
    return http.post(form["action"], data)


def test_the_owners_grant_is_carried_out_after_re_authentication(login, owner, stylist,
                                                                  unassigned_client):
    http = login(owner)
    url = reverse("access:grant_give", args=[stylist.pk])
    asked = http.post(url, {"client_code": unassigned_client.code},
                      HTTP_REFERER=f"http://testserver/staff/people/{stylist.pk}/")
    assert asked["Location"] == f"/accounts/reauth/?next={url}"
    assert not Grant.objects.exists()
    assert 'id="reauth-resumes"' in http.get(asked["Location"]).content.decode()

    page = reauth(http, owner, url)
    assert page.status_code == 200
    form = resume_form(page)
    assert form["action"] == url
    assert ("client_code", unassigned_client.code) in form["fields"]
    assert re.search(r'<script src="/static/js/resume\.js', page.content.decode())

    done = submit(http, form)
    assert done["Location"] == f"/staff/people/{stylist.pk}/"
    grant = Grant.objects.get(user=stylist, client_id=unassigned_client.pk, source="manual")
    assert grant.revoked_at is None
    event = AccessEvent.objects.get(action="grant.give", actor=owner)
    assert event.client_id == unassigned_client.pk
    assert integrity.verify_chain(full=True).ok


def test_deactivating_a_person_is_carried_out_after_re_authentication(login, owner, stylist):
    http = login(owner)
    url = reverse("access:staff_deactivate", args=[stylist.pk])
    http.post(url)
    stylist.refresh_from_db()
    assert stylist.is_active

    done = submit(http, resume_form(reauth(http, owner, url)))
    assert done.status_code == 302
    stylist.refresh_from_db()
    assert not stylist.is_active
    assert AccessEvent.objects.filter(action="staff.deactivate", actor=owner).exists()
    assert integrity.verify_chain(full=True).ok


def test_a_password_posted_with_an_action_is_never_kept(login, owner, stylist,
                                                       unassigned_client):
    http = login(owner)
    url = reverse("access:grant_give", args=[stylist.pk])
    http.post(url, {"client_code": unassigned_client.code, "password": "Hunter-secret-77",
                    "new_password1": "Hunter-secret-78"})
    page = reauth(http, owner, url)
    form = resume_form(page)
    assert "Hunter-secret" not in page.content.decode()
    assert {name for name, _value in form["fields"]} == {"csrfmiddlewaretoken", "client_code"}


def test_an_action_is_resumed_once(login, owner, stylist, unassigned_client):
    http = login(owner)
    url = reverse("access:grant_give", args=[stylist.pk])
    http.post(url, {"client_code": unassigned_client.code})
    resume_form(reauth(http, owner, url))
    session = http.session
    session["sv_reauth_at"] = 0
    session.save()
    recovery = StaticDevice.objects.create(user=owner, name="recovery", confirmed=True)
    recovery.token_set.create(token="recovery-1")
    again = reauth(http, owner, url, code="recovery-1")
    assert again.status_code == 302 and again["Location"] == url
    assert not Grant.objects.exists()


def test_a_stale_action_is_not_resumed(login, owner, stylist, unassigned_client, monkeypatch):
    http = login(owner)
    url = reverse("access:grant_give", args=[stylist.pk])
    back = f"/staff/people/{stylist.pk}/"
    http.post(url, {"client_code": unassigned_client.code},
              HTTP_REFERER=f"http://testserver{back}")
    later = time.time() + pending.LIFETIME_SECONDS + 60
    monkeypatch.setattr(time, "time", lambda: later)
    response = reauth(http, owner, url)
    assert response.status_code == 302
    assert response["Location"] == back
    assert not Grant.objects.exists()
    page = http.get(back).content.decode()
    assert "waited too long" in page


def test_a_tampered_action_is_not_resumed(login, owner, stylist, unassigned_client,
                                          other_location, make_client):
    http = login(owner)
    url = reverse("access:grant_give", args=[stylist.pk])
    far = make_client(location=other_location, full_name="陈静")
    http.post(url, {"client_code": unassigned_client.code})
    session = http.session
    token = session[pending.SESSION_KEY]
    # Swap in another client's code without the signing key: the signature no longer fits.
    session[pending.SESSION_KEY] = token.replace(unassigned_client.code, far.code) \
        if unassigned_client.code in token else "x" + token[1:]
    session.save()
    response = reauth(http, owner, url)
    assert response.status_code == 302 and response["Location"] == "/"
    assert not Grant.objects.exists()


def test_an_action_kept_for_one_path_is_not_replayed_on_another(login, owner, stylist,
                                                                unassigned_client):
    http = login(owner)
    url = reverse("access:grant_give", args=[stylist.pk])
    http.post(url, {"client_code": unassigned_client.code})
    other = reverse("access:staff_deactivate", args=[stylist.pk])
    response = reauth(http, owner, other)
    assert response.status_code == 302 and response["Location"] == other
    assert not Grant.objects.exists()
    stylist.refresh_from_db()
    assert stylist.is_active
    assert pending.SESSION_KEY not in http.session


def test_an_action_kept_for_one_person_is_not_replayed_for_another(
        login, owner, second_owner, stylist, unassigned_client, sign_in):
    http = login(owner)
    url = reverse("access:grant_give", args=[stylist.pk])
    http.post(url, {"client_code": unassigned_client.code})
    token = http.session[pending.SESSION_KEY]
    other = sign_in(second_owner)
    session = other.session
    session[pending.SESSION_KEY] = token
    session.save()
    response = reauth(other, second_owner, url)
    assert response.status_code == 302 and response["Location"] == "/"
    assert not Grant.objects.exists()


def test_a_page_asked_for_by_get_still_opens_after_re_authentication(login, owner):
    http = login(owner)
    url = reverse("access:agreement_publish")
    asked = http.get(url)
    assert asked["Location"] == f"/accounts/reauth/?next={url}"
    response = reauth(http, owner, url)
    assert response.status_code == 302 and response["Location"] == url
    assert http.get(url).status_code == 200


def test_the_resume_script_is_served_from_the_project():
    from django.contrib.staticfiles import finders

    path = finders.find("js/resume.js")
    assert path is not None
    with open(path) as fh:
        assert "form[data-auto-submit]" in fh.read()


def test_a_stale_action_for_another_page_does_not_divert_the_person(
        login, owner, stylist, unassigned_client, monkeypatch):
    http = login(owner)
    http.post(reverse("access:grant_give", args=[stylist.pk]),
              {"client_code": unassigned_client.code},
              HTTP_REFERER=f"http://testserver/staff/people/{stylist.pk}/")
    later = time.time() + pending.LIFETIME_SECONDS + 60
    monkeypatch.setattr(time, "time", lambda: later)
    target = reverse("access:agreement_publish")
    response = reauth(http, owner, target)
    assert response.status_code == 302 and response["Location"] == target
    assert not Grant.objects.exists()
