"""A person's own account: where they land, their security page, and their invitation link."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import devices_for_user
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit import actions
from audit import services as audit

from . import backends, invitations, policy
from .auth_views import reauth_required, recovery_codes_make
from .forms import OwnPasswordForm
from .middleware import needs_otp
from .models import Role

ROLE_HOME = {Role.AUDITOR: "audit:events", Role.OWNER: "access:dashboard"}


def home(request):
    """Each role lands on its own page: auditors on the audit log, owners on the staff
    dashboard, staff who serve clients on the client list."""
    user = request.user
    if not user.is_authenticated:
        return redirect("login")
    role = policy.role_of(user)
    if role in ROLE_HOME:
        return redirect(ROLE_HOME[role])
    if policy.may_see_clients(user):
        return redirect("records:client_list")
    return redirect("account")


@login_required
def account(request):
    devices = list(devices_for_user(request.user))
    return render(request, "access/account.html", {
        "authenticators": [d for d in devices if isinstance(d, TOTPDevice)],
        "recovery_left": sum(d.token_set.count() for d in devices if hasattr(d, "token_set")),
        "needs_otp": needs_otp(request.user),
    })


@never_cache
@login_required
@reauth_required
@require_POST
def recovery_codes_new(request):
    """New recovery codes replace the old ones and are shown this once."""
    if not any(isinstance(d, TOTPDevice) for d in devices_for_user(request.user)):
        messages.error(request, _("Set up an authenticator app first."))
        return redirect("account")
    with transaction.atomic():
        codes = recovery_codes_make(request.user)
        audit.record(actor=request.user, actor_label=request.user.get_username(),
                     role=policy.role_of(request.user), action=actions.AUTH_RECOVERY_CODES,
                     outcome="allowed")
    return render(request, "registration/otp_recovery_codes.html",
                  {"codes": codes, "next": "/accounts/security/"})


@never_cache
@require_http_methods(["GET", "POST"])
def invitation_accept(request, token):
    invitation = invitations.invitation_open(token=token)
    if invitation is None:
        return render(request, "access/invitation_invalid.html", status=404)
    if request.user.is_authenticated and request.user != invitation.user:
        logout(request)  # the link is for its person; whoever was signed in here leaves
    user = invitation.user
    form = OwnPasswordForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = invitations.invitation_accept(invitation=invitation,
                                                 password=form.cleaned_data["new_password1"])
        except invitations.InvitationClosed:
            return render(request, "access/invitation_invalid.html", status=404)
        login(request, user, backend=backends.PATH)
        if needs_otp(user):
            return redirect("/accounts/otp/setup/?next=/")
        return redirect("home")
    return render(request, "access/invitation_accept.html",
                  {"form": form, "person": user, "invitation": invitation})
