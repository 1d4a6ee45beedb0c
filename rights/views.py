"""Staff pages for clients' rights: requests with their deadlines, the privacy notice,
consents recorded at the desk, and the client's page link."""

from __future__ import annotations

import datetime as dt

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from access import door, policy
from access.auth_views import reauth_required, recent_reauth
from access.models import Role
from access.views import owner_required
from audit import actions
from records import consent, notices, selectors
from records.models import ConsentEvent, Restriction
from vault.classes import DataClass
from vault.errors import ShreddedError

from . import links, requests
from .models import AccessCopy, Channel, RightsRequest

HANDLERS = (Role.OWNER, Role.MANAGER)


def _role(request) -> str:
    return policy.role_of(request.user)


def _handlers_only(request) -> None:
    if _role(request) not in HANDLERS:
        raise PermissionDenied


@login_required
@require_GET
def request_list(request):
    _handlers_only(request)
    today = timezone.localdate()
    open_ = list(requests.open_requests().order_by("due_on"))
    for r in open_:
        r.overdue, r.days_left = r.deadline < today, (r.deadline - today).days
    return render(request, "rights/requests.html", {
        "open": sorted(open_, key=lambda r: r.deadline), "today": today,
        "overdue": sum(r.overdue for r in open_),
        "closed": RightsRequest.objects.exclude(state__in=RightsRequest.OPEN)
        .order_by("-resolved_at")[:50]})


@login_required
@require_http_methods(["GET", "POST"])
def request_new(request, pk):
    """Staff record a request made at the desk, by phone or by letter."""
    client = selectors.client_for(request.user, pk)
    error = ""
    if request.method == "POST":
        kind, channel = request.POST.get("kind", ""), request.POST.get("channel", "")
        if kind not in RightsRequest.Kind.values or channel not in Channel.values or \
                channel == Channel.CLIENT_PAGE:
            error = _("Choose what the client asks for and how the request came.")
        else:
            # The client is one the user may see (client_for); the text is sealed under
            # the client's key in a scope recorded with the user as actor.
            with door.open_case_file(user=request.user, subjects=[client.pk],
                                     purpose=actions.HANDLE_RIGHTS_REQUEST,
                                     action=actions.RIGHTS_REQUEST_OPEN):
                req = requests.open_request(client=client, kind=kind, channel=channel,
                                            details=request.POST.get("details", ""),
                                            actor=request.user)
            messages.success(request, _("The request is recorded; it is due on %(date)s.")
                             % {"date": req.due_on.isoformat()})
            if _role(request) in HANDLERS:
                return redirect("rights:request_detail", pk=req.pk)
            return redirect("records:client_detail", pk=client.pk)
    return render(request, "rights/request_new.html", {
        "client": client, "kinds": RightsRequest.Kind.choices,
        "channels": [c for c in Channel.choices if c[0] != Channel.CLIENT_PAGE],
        "error": error}, status=400 if error else 200)


STEPS_NEEDING_REAUTH = {"delete", "copy", "correct"}
OWNER_STEPS = {"delete", "copy"}


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def request_detail(request, pk):
    _handlers_only(request)
    req = get_object_or_404(RightsRequest, pk=pk)
    error, passphrase = "", None
    if request.method == "POST":
        step = request.POST.get("step", "")
        if step in OWNER_STEPS and _role(request) != Role.OWNER:
            raise PermissionDenied
        if step in STEPS_NEEDING_REAUTH and not recent_reauth(request):
            return redirect(f"{reverse('reauth')}?next={request.path}")
        try:
            passphrase = _step(request, req, step)
        except (requests.RequestError, consent.ConsentError, PermissionError) as exc:
            error = str(exc)
        else:
            if passphrase is None:
                messages.success(request, _("Saved."))
                return redirect("rights:request_detail", pk=req.pk)
        req.refresh_from_db()
    with door.open_case_file(user=request.user, subjects=[req.client_id],
                             purpose=actions.HANDLE_RIGHTS_REQUEST,
                             action=actions.RIGHTS_REQUEST_STEP, ceiling=DataClass.L4,
                             detail={"request": str(req.pk), "view": True}):
        response = render(request, "rights/request_detail.html", {
            "r": req, "details": _readable(req, "details"),
            "response_text": _readable(req, "response"),
            "corrections": _readable(req, "corrections"), "error": error, "passphrase": passphrase,
            "today": timezone.localdate(), "is_owner": _role(request) == Role.OWNER,
            "identities": [i for i in RightsRequest.Identity.choices
                           if i[0] != RightsRequest.Identity.CLIENT_LINK],
            "fields": [(name, str(_field_label(name))) for name in requests.CORRECTABLE],
            "copy": AccessCopy.objects.filter(request=req).first(),
            "restriction": Restriction.objects.filter(client_id=req.client_id,
                                                      lifted_at__isnull=True).first(),
            "languages": [("zh-hans", "简体中文"), ("en", "English")],
        }, status=400 if error else 200)
    return response


def _readable(req: RightsRequest, name: str):
    """A sealed value, or a note that it went with the client's destroyed data key."""
    try:
        return getattr(req, name)
    except ShreddedError:
        return _("(destroyed with the client's data)")


def _field_label(name: str):
    from records.models import BeautyProfile, Client, HealthNote

    for model in (Client, BeautyProfile, HealthNote):
        try:
            return model._meta.get_field(name).verbose_name
        except Exception:  # noqa: S112 — not this model's field
            continue
    return name


def _step(request, req: RightsRequest, step: str) -> str | None:
    post, user = request.POST, request.user
    if step == "identity":
        requests.check_identity(req, method=post.get("method", ""),
                                note=post.get("note", ""), actor=user)
    elif step == "extend":
        try:
            to = dt.date.fromisoformat(post.get("to", ""))
        except ValueError:
            raise requests.RequestError(_("Enter the new date.")) from None
        requests.extend(req, to=to, reason=post.get("reason", ""), actor=user)
    elif step == "refuse":
        requests.refuse(req, reason=post.get("reason", ""), actor=user)
    elif step == "answer":
        requests.answer(req, response=post.get("response", ""), actor=user)
    elif step == "restrict":
        requests.restrict(req, actor=user)
    elif step == "delete":
        if post.get("confirm") != "on":
            raise requests.RequestError(_("Tick the box to confirm the deletion."))
        requests.delete(req, actor=user)
    elif step == "correct":
        changes = {name: post.get(name) for name in requests.CORRECTABLE
                   if post.get(name, "").strip()}
        if "birthday" in changes:
            try:
                changes["birthday"] = dt.date.fromisoformat(changes["birthday"])
            except ValueError:
                raise requests.RequestError(_("Enter the birthday as YYYY-MM-DD.")) from None
        requests.correct(req, changes=changes, actor=user)
    elif step == "copy":
        language = post.get("language") if post.get("language") in ("zh-hans", "en") else "zh-hans"
        return requests.make_copy(req, actor=user, language=language)[1]
    else:
        raise requests.RequestError(_("Unknown step."))
    return None


@never_cache
@owner_required
@reauth_required
@require_POST
def request_copy(request, pk):
    """The owner downloads the copy (once) to hand it over in person."""
    copy = get_object_or_404(AccessCopy, request_id=pk)
    try:
        data = requests.take_copy(copy, actor=request.user)
    except requests.RequestError as exc:
        messages.error(request, str(exc))
        return redirect("rights:request_detail", pk=pk)
    response = HttpResponse(data, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{copy.file_name}"'
    return response


@never_cache
@owner_required
@require_http_methods(["GET", "POST"])
def notice_admin(request):
    current, draft = notices.current(), notices.draft()
    error = ""
    if request.method == "POST":
        fields = {k: request.POST.get(k, "").strip() for k in
                  ("body_zh", "body_en", "contact", "changes_zh", "changes_en")}
        draft = notices.save_draft(actor=request.user, **fields,
                                   needs_reconsent=request.POST.get("needs_reconsent") == "on")
        if request.POST.get("publish"):
            if not recent_reauth(request):
                messages.info(request, _("The draft is saved. Confirm your password to "
                                         "publish it."))
                return redirect(f"{reverse('reauth')}?next={request.path}")
            try:
                notices.publish(draft, actor=request.user)
            except notices.NoticeError as exc:
                error = str(exc)
            else:
                messages.success(request, _("Version %(v)d is published. Clients are asked to "
                                            "read it on their own page.") % {"v": draft.version})
                return redirect("rights:notice_admin")
        else:
            messages.success(request, _("The draft is saved."))
            return redirect("rights:notice_admin")
    base = draft or current
    return render(request, "rights/notice_admin.html", {
        "current": current, "draft": draft, "base": base, "error": error,
        "status": notices.status(current) if current else None,
    }, status=400 if error else 200)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def client_link(request, pk):
    """Make a new link to the client's own page, shown once (with a QR code to scan)."""
    client = selectors.client_for(request.user, pk)
    if request.method != "POST":  # after the lookup: a GET learns nothing a POST would not
        return HttpResponseNotAllowed(["POST"])
    language = request.POST.get("language")
    if language not in ("zh-hans", "en"):
        language = translation.get_language() or "zh-hans"
    if request.POST.get("revoke_others") == "on":
        links.revoke_all(client)
    link, token = links.issue(client, actor=request.user, language=language)
    url = request.build_absolute_uri(reverse("public:client_page", args=[token]))
    qr = segno.make(url, error="m").svg_inline(scale=4, dark="#222")
    return render(request, "rights/client_link.html", {
        "client": client, "url": url, "qr": qr, "link": link})


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def consent_record(request, pk):
    """Record a consent at the desk: signed on the tablet, or from a paper form."""
    client = selectors.client_for(request.user, pk)
    error = ""
    if request.method == "POST":
        purpose, action = request.POST.get("purpose", ""), request.POST.get("action", "")
        channel = request.POST.get("channel", "")
        if channel not in (ConsentEvent.Channel.IN_PERSON, ConsentEvent.Channel.PAPER):
            error = _("Choose how the consent was given.")
        else:
            try:
                consent.record_by_staff(
                    actor=request.user, client=client, purpose=purpose, action=action,
                    channel=channel, signature_data_url=request.POST.get("signature", ""),
                    guardian_name=request.POST.get("guardian_name", ""))
            except consent.ConsentError as exc:
                error = str(exc)
            else:
                messages.success(request, _("The consent is recorded."))
                return redirect("records:client_detail", pk=client.pk)
    return render(request, "rights/consent_form.html", {
        "client": client, "purposes": ConsentEvent.Purpose.choices, "error": error,
        "current": consent.current(client.pk),
        "values": request.POST if request.method == "POST" else {},
    }, status=400 if error else 200)


def dashboard_counts() -> dict:
    return {"open": requests.open_requests().count(), "overdue": requests.overdue().count()}

