"""Pages without an account: the privacy notice, and a client's own page by signed link.

A link that is tampered with, expired, revoked or of a destroyed client gets the same
page and status, and no query or audit event says which it was.
"""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from access import door
from audit import actions
from audit import selectors as audit_selectors
from records import consent, notices
from records.models import ConsentEvent, NoticeAcknowledgement, PrivacyNotice
from vault.classes import DataClass

from . import links, notice_page, portal, requests
from .models import AccessCopy, Channel, Complaint, RightsRequest

LANGS = ("zh-hans", "en")


def language_of(request, default: str) -> str:
    asked = request.GET.get("lang") or request.POST.get("lang")
    return asked if asked in LANGS else default


@require_GET
def notice(request, version: int | None = None):
    shown = (notices.current() if version is None else
             PrivacyNotice.objects.filter(version=version, published_at__isnull=False).first())
    if version is not None and shown is None:
        raise Http404
    lang = language_of(request, translation.get_language() or "zh-hans")
    with translation.override(lang):
        return render(request, "rights/public/notice.html", {
            "notice": shown, "lang": lang, "facts": notice_page.facts(),
            "versions": PrivacyNotice.objects.filter(published_at__isnull=False)
            .values_list("version", "published_at")})


def invalid_link(request):
    return render(request, "rights/public/invalid.html", status=404)


def resolve_link(request, token):
    try:
        return links.resolve(token)
    except links.InvalidLink:
        return None, None


def client_page_response(request, token, *, status=200, extra=None):
    link, client = resolve_link(request, token)
    if link is None:
        return invalid_link(request)
    lang = language_of(request, link.language)
    with translation.override(lang), door.open_for_client_self(
            client=client, purpose=actions.CLIENT_SELF_SERVICE,
            action=actions.CLIENT_PAGE_OPEN, ceiling=DataClass.L1):
        context = _context(request, client, link, token, lang) | (extra or {})
        response = render(request, "rights/public/client_page.html", context, status=status)
    response["Cache-Control"] = "no-store"
    # The token never leaves the site; not "no-referrer", under which the browser posts the
    # page's forms with "Origin: null" and Django's CSRF check refuses every one of them.
    response["Referrer-Policy"] = "same-origin"
    return response


def _context(request, client, link, token, lang) -> dict:
    current_notice = notices.current()
    current = consent.current(client.pk)
    reconsent = (notices.reconsent_due(current_notice, client.pk)
                 if current_notice is not None else set())
    consents = [{"purpose": value, "label": label, "event": current[value],
                 "given": bool(current[value] and current[value].action == "given"),
                 "again": (client.pk, value) in reconsent}
                for value, label in ConsentEvent.Purpose.choices]
    history = audit_selectors.filtered({"client_code": client.code}).filter(
        actor__isnull=False).order_by("-seq")[:200]
    roles = _role_labels()
    seen = [{"at": e.at, "role": roles.get(e.role, _("staff")),
             "action": actions.action_label(e.action),
             "purpose": actions.purpose_label(e.purpose)} for e in history]
    return {
        "client": client, "link": link, "token": token, "lang": lang,
        "notice": current_notice, "facts": notice_page.facts(),
        "acknowledged": current_notice is not None and notices.acknowledged(
            client.pk, current_notice.version),
        "consents": consents, "seen": seen,
        "kinds": RightsRequest.Kind.choices, "categories": Complaint.Category.choices,
        "requests": RightsRequest.objects.filter(client_id=client.pk).order_by("-received_at")[:20],
        "copies": AccessCopy.objects.filter(request__client_id=client.pk,
                                            downloaded_at__isnull=True),
        "sections": [(s, ctx) for s in portal.sections()
                     if (ctx := s.context(client, link, request)) is not None],
    }


def _role_labels() -> dict:
    from access.models import Role

    return dict(Role.choices)


@never_cache
@require_GET
def client_page(request, token):
    return client_page_response(request, token)


def after_post(request, token, message: str):
    from django.contrib import messages

    messages.success(request, message)
    lang = language_of(request, "")
    return redirect(f"/c/{token}/" + (f"?lang={lang}" if lang else ""))


@require_POST
def acknowledge(request, token):
    link, client = resolve_link(request, token)
    if link is None:
        return invalid_link(request)
    current_notice = notices.current()
    if current_notice is None:
        return invalid_link(request)
    with translation.override(language_of(request, link.language)):
        notices.acknowledge(client, version=current_notice.version,
                            channel=NoticeAcknowledgement.Channel.CLIENT_PAGE)
        return after_post(request, token, _("Thank you: you have read the privacy notice."))


@require_POST
def consent_view(request, token):
    link, client = resolve_link(request, token)
    if link is None:
        return invalid_link(request)
    purpose, action = request.POST.get("purpose", ""), request.POST.get("action", "")
    with translation.override(language_of(request, link.language)):
        if purpose not in ConsentEvent.Purpose.values or action not in ConsentEvent.Action.values:
            return client_page_response(request, token, status=400,
                         extra={"error": _("Choose a purpose and what to do.")})
        if action == "given" and request.POST.get("agree") != "yes":
            return client_page_response(request, token, status=400, extra={
                "error": _("Tick the box to say you agree."), "focus": purpose})
        with door.open_for_client_self(client=client, purpose=actions.RECORD_CONSENT,
                                       action=actions.CLIENT_PAGE_OPEN, ceiling=DataClass.L2):
            try:
                consent.record(client=client, purpose=purpose, action=action,
                               channel=ConsentEvent.Channel.CLIENT_PAGE)
            except consent.ConsentError as exc:
                return client_page_response(request, token, status=400, extra={"error": str(exc)})
        label = ConsentEvent.Purpose(purpose).label
        return after_post(request, token, (_("Your consent to “%(p)s” is withdrawn.") if
                                       action == "withdrawn" else
                                       _("Your consent to “%(p)s” is recorded.")) % {"p": label})


@require_POST
def rights_request(request, token):
    link, client = resolve_link(request, token)
    if link is None:
        return invalid_link(request)
    with translation.override(language_of(request, link.language)):
        kind = request.POST.get("kind", "")
        details = request.POST.get("details", "")[:4000]
        if kind not in RightsRequest.Kind.values:
            return client_page_response(request, token, status=400,
                         extra={"error": _("Choose what you are asking for.")})
        with door.open_for_client_self(client=client, purpose=actions.HANDLE_RIGHTS_REQUEST,
                                       action=actions.RIGHTS_REQUEST_OPEN,
                                       ceiling=DataClass.L3):
            req = requests.open_request(client=client, kind=kind, channel=Channel.CLIENT_PAGE,
                                        details=details)
        return after_post(request, token, _("Your request is received. The salon answers by "
                                        "%(date)s.") % {"date": req.due_on.isoformat()})


@require_POST
def complaint(request, token):
    link, client = resolve_link(request, token)
    if link is None:
        return invalid_link(request)
    with translation.override(language_of(request, link.language)):
        category = request.POST.get("category", "")
        text = request.POST.get("description", "").strip()[:4000]
        if category not in Complaint.Category.values or not text:
            return client_page_response(request, token, status=400,
                         extra={"error": _("Choose a category and write your complaint.")})
        with door.open_for_client_self(client=client, purpose=actions.HANDLE_COMPLAINT,
                                       action=actions.CLIENT_PAGE_OPEN, ceiling=DataClass.L3):
            from . import complaints

            filed = complaints.file(category=category, channel=Channel.CLIENT_PAGE,
                                    description=text, client=client)
        return after_post(request, token, _("Your complaint is received. The salon answers by "
                                        "%(date)s.") % {"date": filed.due_on.isoformat()})


@require_POST
def copy_download(request, token, pk):
    link, client = resolve_link(request, token)
    if link is None:
        return invalid_link(request)
    copy = AccessCopy.objects.select_related("request").filter(
        pk=pk, request__client_id=client.pk).first()
    if copy is None:
        return invalid_link(request)
    try:
        data = requests.take_copy(copy)
    except requests.RequestError:
        return invalid_link(request)
    response = HttpResponse(data, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{copy.file_name}"'
    response["Cache-Control"] = "no-store"
    return response
