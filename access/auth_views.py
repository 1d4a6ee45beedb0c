"""Two-factor enrolment and verification, re-authentication, and the lockout page."""

from __future__ import annotations

import base64
import time
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods
from django_otp import devices_for_user
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit import actions
from audit import services as audit

from . import pending, policy
from .middleware import needs_otp
from .qr import qr_svg

REAUTH_AT = "sv_reauth_at"
RECOVERY_CODES = 10


class TokenForm(forms.Form):
    token = forms.CharField(label=gettext_lazy("Authenticator code"), max_length=16,
                            widget=forms.TextInput(attrs={"autocomplete": "one-time-code",
                                                          "inputmode": "numeric",
                                                          "autofocus": True}))


class ReauthForm(forms.Form):
    password = forms.CharField(label=gettext_lazy("Password"), widget=forms.PasswordInput(
        attrs={"autocomplete": "current-password", "autofocus": True}))
    token = forms.CharField(label=gettext_lazy("Authenticator code"), max_length=16,
                            required=False,
                            widget=forms.TextInput(attrs={"autocomplete": "one-time-code",
                                                          "inputmode": "numeric"}))


def _next(request, default: str = "/") -> str:
    target = request.POST.get("next") or request.GET.get("next") or default
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                       require_https=request.is_secure()):
        return target
    return default


def _record(user, action: str, outcome: str = "allowed") -> None:
    audit.record(actor=user, actor_label=user.get_username(), role=policy.role_of(user),
                 action=action, outcome=outcome)


def _match(user, token: str):
    token = "".join(token.split())
    with transaction.atomic():
        for device in devices_for_user(user, for_verify=True):
            if device.verify_token(token):
                return device
    return None


@login_required
@require_http_methods(["GET", "POST"])
def otp_verify(request):
    user = request.user
    if not any(devices_for_user(user)):
        return redirect(f"/accounts/otp/setup/?{urlencode({'next': _next(request)}, safe='/')}")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = _match(user, form.cleaned_data["token"])
        if device is not None:
            otp_login(request, device)
            _record(user, actions.AUTH_OTP_VERIFY)
            return redirect(_next(request))
        _record(user, actions.AUTH_OTP_VERIFY, outcome="denied")
        form.add_error("token", _("This code is not valid. Use the current code from your "
                                  "authenticator app, or one of your recovery codes."))
    return render(request, "registration/otp_verify.html", {"form": form, "next": _next(request)})


def base32_key(device: TOTPDevice) -> str:
    """The key as authenticator apps take it when typed: base32 in groups of four (the
    device stores hex)."""
    key = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(key[i:i + 4] for i in range(0, len(key), 4))


@login_required
@require_http_methods(["GET", "POST"])
def otp_setup(request):
    user = request.user
    if any(devices_for_user(user)):
        if not user.is_verified():
            return redirect(f"/accounts/otp/?{urlencode({'next': _next(request)}, safe='/')}")
        if not recent_reauth(request):  # adding a second factor is itself sensitive
            return redirect(f"/accounts/reauth/?{urlencode({'next': request.get_full_path()}, safe='/')}")
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first() or \
        TOTPDevice.objects.create(user=user, name=_("Authenticator app"), confirmed=False)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token("".join(form.cleaned_data["token"].split())):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            # A new authenticator replaces the old phone: its codes stop working now.
            TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
            codes = recovery_codes_make(user)
            otp_login(request, device)
            _record(user, actions.AUTH_OTP_ENROL)
            return render(request, "registration/otp_recovery_codes.html",
                          {"codes": codes, "next": _next(request)})
        form.add_error("token", _("This code does not match. Check the time on your phone "
                                  "and enter the current code."))
    return render(request, "registration/otp_setup.html", {
        "form": form, "qr": qr_svg(device.config_url), "secret": base32_key(device),
        "next": _next(request)})


def recovery_codes_make(user) -> list[str]:
    static, _created = StaticDevice.objects.get_or_create(
        user=user, name="recovery", defaults={"confirmed": True})
    static.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=static, token=c) for c in codes])
    return codes


def recent_reauth(request) -> bool:
    at = request.session.get(REAUTH_AT)
    return at is not None and time.time() - at <= settings.REAUTH_SECONDS


def reauth_required(view):
    """Sensitive actions ask for the password (and a code) again unless given moments ago."""

    def wrapped(request, *args, **kwargs):
        if not recent_reauth(request):
            if request.method == "POST":
                pending.pending_keep(request)  # resumed after the password, never lost
            return redirect(f"/accounts/reauth/?{urlencode({'next': request.get_full_path()}, safe='/')}")
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    wrapped.reauth_required = True
    return wrapped


@login_required
@require_http_methods(["GET", "POST"])
def reauth(request):
    user = request.user
    ask_token = needs_otp(user)
    form = ReauthForm(request.POST or None)
    if not ask_token:
        del form.fields["token"]
    if request.method == "POST" and form.is_valid():
        ok = authenticate(request, username=user.get_username(),
                          password=form.cleaned_data["password"]) is not None
        if ok and ask_token:
            ok = _match(user, form.cleaned_data.get("token", "")) is not None
        if ok:
            request.session[REAUTH_AT] = int(time.time())
            _record(user, actions.AUTH_REAUTH)
            return _resume(request, _next(request))
        _record(user, actions.AUTH_REAUTH, outcome="denied")
        form.add_error(None, _("The password or code is not correct."))
    return render(request, "registration/reauth.html", {
        "form": form, "next": _next(request), "resumes": pending.SESSION_KEY in request.session})


def _resume(request, target: str):
    """After re-authentication: post the action that waited for it, or go to `target`."""
    outcome, action = pending.pending_take(request, path=target.split("?", 1)[0])
    if outcome == pending.Outcome.RESUME:
        return render(request, "registration/resume.html", {"action": action})
    if outcome == pending.Outcome.EXPIRED:
        messages.warning(request, _("Your action waited too long for the password and was "
                                    "not carried out. Please do it again."))
        return redirect(action.back)
    if outcome == pending.Outcome.REFUSED:
        messages.error(request, _("Your earlier action could not be resumed. Please do it "
                                  "again."))
        return redirect("/")
    return redirect(target)


def locked_out(request, credentials=None, *args, **kwargs):
    return render(request, "registration/locked_out.html", status=429)
