"""The owner's side of invitation and reset links: issue one, and show it this once."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from . import invitations, services
from .auth_views import reauth_required
from .forms import StaffCreateForm
from .qr import qr_svg
from .views import _profile, owner_required


def _show_link(request, invitation, token: str):
    link = request.build_absolute_uri(reverse("invitation_accept", args=[token]))
    mailed = invitations.invitation_mail(user=invitation.user, link=link, kind=invitation.kind)
    return render(request, "access/invitation_link.html", {
        "invitation": invitation, "person": invitation.user.staff, "link": link,
        "qr": qr_svg(link), "mailed": mailed})


@never_cache  # the link is shown once and must not stay in a cache
@owner_required
@reauth_required
@require_http_methods(["GET", "POST"])
def staff_invite(request):
    form = StaffCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        invitation, token = invitations.invitation_issue(actor=request.user, **form.cleaned_data)
        return _show_link(request, invitation, token)
    return render(request, "access/staff_form.html", {"form": form})


@never_cache  # the link is shown once and must not stay in a cache
@owner_required
@reauth_required
@require_POST
def staff_reset(request, pk):
    profile = _profile(pk)
    try:
        invitation, token = invitations.invitation_issue_reset(actor=request.user,
                                                               user=profile.user)
    except services.NotAllowed:
        messages.error(request, _("Another owner resets your own sign-in; a deactivated person "
                                  "is reactivated first."))
        return redirect("access:staff_detail", pk=pk)
    return _show_link(request, invitation, token)
