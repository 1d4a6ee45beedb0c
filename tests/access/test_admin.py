"""Django's admin is not a back door: second factor, no secrets, no changes to access."""

from __future__ import annotations

import base64

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.test import Client as Browser
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from access import services
from access.models import Grant, LocationPolicy, StaffProfile
from tests.access.conftest import PASSWORD, totp_token
from tests.conftest import verify_otp


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser("root", "root@example.cn", PASSWORD)


@pytest.fixture
def admin_http(superuser):
    http = Browser()
    http.force_login(superuser)
    verify_otp(http, superuser)
    return http


@pytest.fixture
def secrets_of(stylist):
    """A stylist's authenticator and recovery codes: what must never show in the admin."""
    device = TOTPDevice.objects.create(user=stylist, name="phone", confirmed=True)
    static = StaticDevice.objects.create(user=stylist, name="recovery", confirmed=True)
    static.token_set.create(token="rc7x3q9k")
    key = base64.b32encode(device.bin_key).decode().rstrip("=")
    return [device.key, key, key[:16], "rc7x3q9k"]


def test_an_unverified_superuser_is_sent_to_the_admins_sign_in(superuser):
    http = Browser()
    http.force_login(superuser)
    for path in ("/admin/", "/admin/access/staffprofile/", "/admin/auth/user/"):
        response = http.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/admin/login/?next="), path


def test_the_admins_sign_in_asks_for_a_code(client):
    page = client.get("/admin/login/").content.decode()
    assert 'name="otp_token"' in page


def test_a_verified_superuser_opens_the_admin(admin_http):
    assert admin_http.get("/admin/").status_code == 200


def test_no_admin_page_shows_an_authenticator_key_or_recovery_code(
        admin_http, secrets_of, stylist, owner, client_record):
    services.grant_give(actor=owner, user=stylist, client=client_record)
    pages = ["/admin/"]
    for model in admin.site._registry:
        meta = model._meta
        pages.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
        first = model.objects.first()
        if first is not None:
            pages.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_change",
                                 args=[first.pk]))
    pages.append(reverse("admin:auth_user_change", args=[stylist.pk]))
    for path in pages:
        response = admin_http.get(path)
        assert response.status_code == 200, (path, response.status_code)
        page = response.content.decode()
        for secret in secrets_of:
            assert secret not in page, (path, secret)


@pytest.mark.parametrize("model", [TOTPDevice, StaticDevice])
def test_authenticators_and_recovery_codes_are_not_in_the_admin(admin_http, secrets_of, model):
    meta = model._meta
    response = admin_http.get(f"/admin/{meta.app_label}/{meta.model_name}/")
    assert response.status_code == 404


def test_a_role_change_through_the_admin_is_refused(admin_http, stylist, other_location):
    profile = StaffProfile.objects.get(user=stylist)
    url = reverse("admin:access_staffprofile_change", args=[profile.pk])
    response = admin_http.post(url, {"user": stylist.pk, "role": "owner",
                                     "location": other_location.pk, "display_name": "x"})
    assert response.status_code == 403
    profile.refresh_from_db()
    assert profile.role == "stylist" and profile.location.code == "bj"
    page = admin_http.get(url).content.decode()
    assert reverse("access:staff_detail", args=[stylist.pk]) in page  # where to change it


@pytest.mark.parametrize("name", ["access_staffprofile", "access_grant", "access_locationpolicy",
                                  "access_agreement", "access_trainingrecord", "auth_user"])
def test_access_cannot_be_added_or_deleted_through_the_admin(admin_http, stylist, name):
    assert admin_http.post(reverse(f"admin:{name}_add"), {"role": "owner"}).status_code == 403
    assert not LocationPolicy.objects.exists() and not Grant.objects.exists()


def test_a_grant_cannot_be_revoked_through_the_admin(admin_http, owner, stylist, client_record):
    grant = services.grant_give(actor=owner, user=stylist, client=client_record)
    response = admin_http.post(reverse("admin:access_grant_delete", args=[grant.pk]),
                               {"post": "yes"})
    assert response.status_code == 403
    assert Grant.objects.filter(pk=grant.pk, revoked_at__isnull=True).exists()


def test_nobody_sets_another_persons_password_or_activation_in_the_admin(admin_http, stylist):
    password = reverse("admin:auth_user_password_change", args=[stylist.pk])
    response = admin_http.post(password, {"password1": "Hunter-secret-77",
                                          "password2": "Hunter-secret-77"})
    assert response.status_code == 403
    change = admin_http.post(reverse("admin:auth_user_change", args=[stylist.pk]),
                             {"username": "stylist", "is_active": ""})
    assert change.status_code == 403
    stylist.refresh_from_db()
    assert stylist.check_password(PASSWORD) and stylist.is_active


def test_a_superuser_enrols_from_the_account_page_and_then_opens_the_admin(superuser):
    http = Browser()
    http.force_login(superuser)
    assert http.get("/")["Location"] == "/accounts/security/"
    page = http.get("/accounts/security/").content.decode()
    assert 'id="account-enrol"' in page
    assert http.get("/accounts/otp/setup/").status_code == 200
    device = TOTPDevice.objects.get(user=superuser, confirmed=False)
    http.post("/accounts/otp/setup/", {"token": totp_token(device)})
    assert http.get("/admin/").status_code == 200


@pytest.mark.parametrize("model_name", ["periodictask", "intervalschedule", "crontabschedule"])
def test_the_scheduled_jobs_cannot_be_switched_off_from_the_admin(admin_http, model_name):
    assert admin_http.get(f"/admin/django_celery_beat/{model_name}/").status_code == 404
    assert "django_celery_beat" not in admin_http.get("/admin/").content.decode()
