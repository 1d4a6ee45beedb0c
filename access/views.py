"""The owner's pages: staff, grants, gates, break-glass review and access reviews."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from audit import actions
from audit import services as audit
from audit.models import AccessEvent

from . import clients, policy, services
from .auth_views import reauth_required
from .forms import (
    AgreementForm,
    GrantForm,
    PolicyForm,
    ReviewForm,
    RoleForm,
    TrainingForm,
)
from .models import (
    AccessReview,
    AccessReviewItem,
    Agreement,
    AgreementAcceptance,
    BreakGlass,
    Grant,
    LocationPolicy,
    Role,
    StaffProfile,
)

User = get_user_model()


def owner_required(view):
    @wraps(view)
    @login_required
    def wrapped(request, *args, **kwargs):
        if policy.role_of(request.user) != Role.OWNER:
            audit.record(actor=request.user, actor_label=request.user.get_username(),
                         role=policy.role_of(request.user), action=actions.STAFF_PAGE,
                         outcome="denied", detail={"view": view.__name__})
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


def _staff_rows():
    profiles = list(StaffProfile.objects.select_related("user", "location").order_by(
        "-user__is_active", "role", "user__username"))
    current = Agreement.objects.order_by("-version").first()
    accepted = set(AgreementAcceptance.objects.filter(agreement=current)
                   .values_list("user_id", flat=True)) if current else set()
    trained = {}
    for user_id, expires in (policy.TrainingRecord.objects.order_by("expires_on")
                             .values_list("user_id", "expires_on")):
        trained[user_id] = expires
    today = timezone.localdate()
    for p in profiles:
        p.agreement_ok = current is None or p.user_id in accepted
        p.training_until = trained.get(p.user_id)
        p.training_ok = p.training_until is not None and p.training_until >= today
    return profiles


@owner_required
def dashboard(request):
    profiles = _staff_rows()
    return render(request, "access/dashboard.html", {
        "alerts": BreakGlass.objects.filter(verdict=BreakGlass.Verdict.PENDING)
        .select_related("user")[:50],
        "missing": [p for p in profiles if p.user.is_active and not (p.agreement_ok and p.training_ok)],
        "review": AccessReview.objects.filter(state=AccessReview.State.OPEN).first(),
        "now": timezone.now(),
    })


@owner_required
def staff_list(request):
    return render(request, "access/staff_list.html", {"profiles": _staff_rows()})


def _profile(pk) -> StaffProfile:
    return get_object_or_404(StaffProfile.objects.select_related("user", "location"), user_id=pk)


@owner_required
def staff_detail(request, pk):
    profile = _profile(pk)
    user = profile.user
    grants = Grant.objects.filter(user=user).order_by("revoked_at", "-granted_at")[:200]
    codes = clients.directory().codes(g.client_id for g in grants)
    for g in grants:
        g.client_code = codes.get(g.client_id, "—")
        g.active = g.revoked_at is None and (g.expires_at is None or g.expires_at > timezone.now())
    return render(request, "access/staff_detail.html", {
        "profile": profile, "grants": grants,
        "role_form": RoleForm(initial={"role": profile.role, "location": profile.location}),
        "grant_form": GrantForm(), "training_form": TrainingForm(),
        "training": user.training_records.all()[:10],
        "events": AccessEvent.objects.filter(actor=user)[:25],
        "gates": policy.gates_of(user),
        "locked": _is_locked(user.get_username()),
    })


def _is_locked(username: str) -> bool:
    from axes.models import AccessAttempt

    return AccessAttempt.objects.filter(username=username).exists()


@owner_required
@require_POST
def staff_role(request, pk):
    profile = _profile(pk)
    form = RoleForm(request.POST)
    if form.is_valid():
        try:
            services.staff_change_role(actor=request.user, profile=profile, **form.cleaned_data)
        except services.NotAllowed:
            messages.error(request, _("You cannot give up your own owner role; another owner can."))
        else:
            messages.success(request, _("Role saved."))
    else:
        messages.error(request, _("Choose a location for this role."))
    return redirect("access:staff_detail", pk=pk)


@owner_required
@reauth_required
@require_POST
def staff_deactivate(request, pk):
    profile = _profile(pk)
    try:
        revoked = services.staff_deactivate(actor=request.user, user=profile.user)
    except services.NotAllowed:
        messages.error(request, _("You cannot deactivate yourself."))
    else:
        messages.success(request, _("%(name)s is deactivated: signed out everywhere, "
                                    "%(n)d grants revoked.") % {"name": profile, "n": revoked})
    return redirect("access:staff_detail", pk=pk)


@owner_required
@require_POST
def staff_reactivate(request, pk):
    services.staff_reactivate(actor=request.user, user=_profile(pk).user)
    messages.success(request, _("Reactivated."))
    return redirect("access:staff_detail", pk=pk)


@owner_required
@require_POST
def staff_unlock(request, pk):
    services.staff_unlock(actor=request.user, username=_profile(pk).user.get_username())
    messages.success(request, _("Sign-in unlocked."))
    return redirect("access:staff_detail", pk=pk)


@owner_required
@require_POST
def staff_training(request, pk):
    profile = _profile(pk)
    form = TrainingForm(request.POST)
    if form.is_valid():
        try:
            services.training_record(actor=request.user, user=profile.user, **form.cleaned_data)
        except ValidationError as exc:
            messages.error(request, exc.messages[0])
        else:
            messages.success(request, _("Training recorded."))
    else:
        messages.error(request, _("Check the training details."))
    return redirect("access:staff_detail", pk=pk)


@owner_required
@reauth_required
@require_POST
def grant_give(request, pk):
    profile = _profile(pk)
    form = GrantForm(request.POST)
    client = clients.directory().by_code(request.POST.get("client_code", ""))
    if not form.is_valid() or client is None:
        messages.error(request, _("No client has this code.") if form.is_valid()
                       else "; ".join(e for errs in form.errors.values() for e in errs))
    else:
        services.grant_give(actor=request.user, user=profile.user, client=client,
                            expires_at=form.cleaned_data["expires_at"])
        messages.success(request, _("Access to %(code)s granted.") % {"code": client.code})
    return redirect("access:staff_detail", pk=pk)


@owner_required
@require_POST
def grant_revoke(request, grant_pk):
    grant = get_object_or_404(Grant, pk=grant_pk)
    services.grant_revoke(actor=request.user, grant=grant)
    messages.success(request, _("Grant revoked."))
    return redirect("access:staff_detail", pk=grant.user_id)


@owner_required
@require_http_methods(["GET", "POST"])
def break_glass_review(request, pk):
    glass = get_object_or_404(BreakGlass.objects.select_related("user"), pk=pk)
    form = ReviewForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.break_glass_review(actor=request.user, glass=glass, **form.cleaned_data)
        except services.NotAllowed:
            messages.error(request, _("Another owner must review your own break-glass access.")
                           if glass.user_id == request.user.pk
                           else _("This break-glass access has already been reviewed."))
        else:
            messages.success(request, _("Review saved."))
            return redirect("access:dashboard")
    events = AccessEvent.objects.filter(actor=glass.user, client_id=glass.client_id,
                                        at__gte=glass.started_at)[:50]
    return render(request, "access/break_glass_review.html",
                  {"glass": glass, "form": form, "events": events})


@owner_required
@require_http_methods(["GET", "POST"])
def access_review(request, pk):
    review = get_object_or_404(AccessReview, pk=pk)
    if request.method == "POST":
        item_pk = request.POST.get("item", "")
        if not item_pk.isdigit():
            raise Http404
        item = get_object_or_404(AccessReviewItem, pk=int(item_pk), review=review)
        decision = request.POST.get("decision")
        if decision not in ("confirm", "revoke"):
            messages.error(request, _("Choose to confirm or revoke the grant."))
            return redirect("access:access_review", pk=pk)
        try:
            services.access_review_decide(actor=request.user, item=item,
                                          confirm=decision == "confirm")
        except services.NotAllowed:
            messages.error(request, _("This grant has already been decided."))
        return redirect("access:access_review", pk=pk)
    items = list(review.items.select_related("grant", "grant__user").order_by(
        "decision", "grant__user__username"))
    codes = clients.directory().codes(i.grant.client_id for i in items)
    for item in items:
        item.client_code = codes.get(item.grant.client_id, "—")
    return render(request, "access/access_review.html", {"review": review, "items": items})


@owner_required
@require_http_methods(["GET", "POST"])
def location_policies(request):
    form = PolicyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.location_policy_set(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error("ceiling", exc)
        else:
            messages.success(request, _("Policy saved."))
            return redirect("access:policies")
    rows = LocationPolicy.objects.select_related("location").order_by("location__code", "role")
    return render(request, "access/policies.html", {"form": form, "rows": rows})


@owner_required
@reauth_required
@require_http_methods(["GET", "POST"])
def agreement_publish(request):
    form = AgreementForm(request.POST or None,
                         initial={"title": _("Client confidentiality agreement")})
    if request.method == "POST" and form.is_valid():
        agreement = services.agreement_publish(actor=request.user, **form.cleaned_data)
        messages.success(request, _("Version %(v)d published; all staff must accept it again.")
                         % {"v": agreement.version})
        return redirect("access:staff_list")
    return render(request, "access/agreement_form.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def agreement(request):
    current = Agreement.objects.order_by("-version").first()
    accepted = current is not None and AgreementAcceptance.objects.filter(
        agreement=current, user=request.user).exists()
    if request.method == "POST" and current is not None and not accepted:
        services.agreement_accept(actor=request.user, agreement=current)
        messages.success(request, _("Thank you. The agreement is accepted."))
        return redirect("home")
    return render(request, "access/agreement.html", {"agreement": current, "accepted": accepted})
