"""Staff pages for client records. Thin: parse, call the door or a service, render."""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from access import door, integrity, labels, policy
from access import services as access_services
from access.auth_views import reauth_required
from access.forms import BreakGlassForm
from access.models import Location, Role
from audit import actions, checkpoints
from audit import services as audit
from vault import blind
from vault import scope as vault_scope
from vault.classes import DataClass

from . import (
    certificate_pdf,
    consent,
    contraindications,
    destruction,
    rekey,
    retention,
    selectors,
    services,
)
from .forms import (
    AssignForm,
    ClientRecordForm,
    DestroyForm,
    LegalHoldForm,
    PhotoForm,
    RetentionPolicyForm,
    SignedForm,
    TreatmentForm,
)
from .models import (
    Client,
    ClientForm,
    Destruction,
    LegalHold,
    Photo,
    RetentionPolicy,
    RetentionProposal,
)

PAGE_SIZE = 50
# What a row of the list shows (with the client's id): the other columns stay unread.
LIST_FIELDS = ("code", "location_id", "assigned_staff_id", "last_visit", "full_name", "phone")


def _client_at(request, pk, level: int, action: str) -> tuple[policy.Decider, object]:
    """The client of a write page, if the user's ceiling reaches `level`, and the decider
    that said so: the service that writes takes the same decisions, not new ones."""
    decider = policy.Decider(request.user)
    client = selectors.client_for(request.user, pk, decider=decider)
    if decider.ceiling(client) < level:
        door.record_denied(user=request.user, action=action, client_id=client.pk)
        raise door.AccessDenied()
    return decider, client


def _require_client_access(user) -> None:
    if not policy.may_see_clients(user):
        door.record_denied(user=user, action=actions.CLIENT_LIST)
        raise PermissionDenied


@contextmanager
def _damage_reported(user, clients):
    """Show a damaged value as a mark, not an error page; alert once per damaged row.

    The report is made after the opening inside has ended, so its events follow it."""
    with vault_scope.damage_shown() as damaged:
        yield
    if damaged:
        integrity.damaged_values_report(user=user, notes=damaged,
                                        clients={c.pk: c for c in clients})


def _no_referrer_beyond(response: HttpResponse) -> HttpResponse:
    # A page of client data sends no address to other sites (its own carries no term).
    # Not "no-referrer": under it a browser posts the search form with "Origin: null",
    # which Django's CSRF check refuses over HTTPS.
    response["Referrer-Policy"] = "same-origin"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def client_list(request):
    """The list, or a search: terms come only in a POST body, never in a URL (history,
    server logs, Referer). A GET with `q` is the plain list."""
    _require_client_access(request.user)
    params = request.POST if request.method == "POST" else request.GET
    q = params.get("q", "").strip()[:100] if request.method == "POST" else ""
    decider = policy.Decider(request.user)  # who is on the page and how much of each, once
    cursor = selectors.cursor_from(params)
    if q:
        kind, condition = selectors.classify_query(q)
        action, detail = actions.CLIENT_SEARCH, {"query_kind": kind, "term_hmac": blind.digest("audit", q)}
    else:
        condition, action, detail = Q(), actions.CLIENT_LIST, {}
    page = selectors.visible_code_page(request.user, condition=condition, fields=LIST_FIELDS,
                                       size=PAGE_SIZE, decider=decider, **cursor)
    found = None  # a search's matches are counted; the whole list is not
    if q:
        whole = not any(cursor.values()) and not page.next_after  # one page holds them all
        found = len(page.rows) if whole else selectors.visible_count(
            request.user, condition=condition, decider=decider)
    rows = page.rows
    with _damage_reported(request.user, rows), door.open_clients(
            user=request.user, clients=rows, purpose=actions.BROWSE_CLIENTS, action=action,
            detail=detail | {k: v for k, v in cursor.items() if v}, decider=decider) as opening:
        lines = list_lines(rows, ceiling=opening.ceiling)
        response = render(request, "records/client_list.html",
                          {"page": page, "lines": lines, "q": q, "found": found,
                           "query_kind": detail.get("query_kind")})
    return _no_referrer_beyond(response)


def list_lines(rows: list, *, ceiling) -> list[dict]:
    """What each row of the list shows, read inside the opening: contact data where the
    user's ceiling reaches it, the link, the location and the assigned person (two small
    lookups for the page rather than three tables joined into every row)."""
    locations, people = labels.page_labels((row.location_id for row in rows),
                                           (row.assigned_staff_id for row in rows))
    link = reverse("records:client_detail", args=[_ANY_ID])
    lines = []
    for row in rows:
        contact = ceiling(row) >= DataClass.L2
        lines.append({
            "code": row.code,
            "link": link.replace(str(_ANY_ID), str(row.pk)),
            "name": _shown(row.full_name) if contact else "—",
            "phone": _shown(row.phone) if contact else "—",
            "location": locations.get(row.location_id, ""),
            "assigned": people.get(row.assigned_staff_id) or "—",
            "last_visit": row.last_visit.isoformat() if row.last_visit else "—",
        })
    return lines


def _shown(value):
    return "—" if value is None else value  # a damaged value stays itself: it shows a mark


_ANY_ID = uuid.UUID(int=0)  # reversed once per page; each row's id replaces it


@login_required
def client_detail(request, pk):
    decider = policy.Decider(request.user)  # every decision of this page, taken once
    client = selectors.client_for(request.user, pk, decider=decider,
                                  related=("profile", "health"))
    with _damage_reported(request.user, [client]), door.open_client(
            user=request.user, client=client, purpose=actions.VIEW_CLIENT,
            decider=decider) as opening:
        ceiling = opening.ceiling(client)
        context = {
            "client": client,
            "ceiling": ceiling,
            "L2": DataClass.L2,
            "L3": DataClass.L3,
            "L4": DataClass.L4,
            "profile": getattr(client, "profile", None) if ceiling >= DataClass.L3 else None,
            "health": getattr(client, "health", None) if ceiling >= DataClass.L4 else None,
            "treatments": list(client.treatments.select_related("staff__staff")[:50])
            if ceiling >= DataClass.L3 else [],
            # Withdrawn photo consent hides the photos at once, before the worker has
            # destroyed them.
            "photos": list(client.photos.all()) if ceiling >= DataClass.L4
            and not consent.is_withdrawn(client.pk, consent.Purpose.PHOTOS) else [],
            "forms": list(client.forms.all()) if ceiling >= DataClass.L4 else [],
            "patch_tests": list(client.patch_tests.select_related("product", "recorded_by__staff")
                                [:50]) if ceiling >= DataClass.L4 else [],
            "may_break_glass": opening.may_break_glass,
            "may_assign": opening.may_assign,
            "may_rekey": policy.role_of(request.user) == Role.OWNER,
            "break_glass": opening.break_glass,
        }
        response = render(request, "records/client_detail.html", context)
    return _no_referrer_beyond(response)


@login_required
@require_http_methods(["GET", "POST"])
def client_create(request):
    _require_client_access(request.user)
    profile = policy.profile_of(request.user)
    location = profile.location or Location.objects.order_by("code").first()
    # A new client is opened at the creator's ceiling for a client of their location.
    ceiling = door.ceiling_for_new_client(request.user, location)
    form = ClientRecordForm(request.POST or None, ceiling=ceiling, location=location)
    if request.method == "POST" and form.is_valid():
        client = services.client_create(
            actor=request.user, location=location, data=_changed(form),
            assigned_staff=request.user if policy.is_assigned_what_they_create(request.user)
            else None,
        )
        messages.success(request, _("Client %(code)s created.") % {"code": client.code})
        return redirect("records:client_detail", pk=client.pk)
    return render(request, "records/client_form.html", {"form": form, "client": None})


@login_required
@require_http_methods(["GET", "POST"])
def client_edit(request, pk):
    decider = policy.Decider(request.user)
    client = selectors.client_for(request.user, pk, decider=decider,
                                  related=("profile", "health"))
    with _damage_reported(request.user, [client]), door.open_client(
            user=request.user, client=client, purpose=actions.EDIT_CLIENT,
            action=actions.CLIENT_OPEN_FOR_EDIT, decider=decider) as opening:
        ceiling = opening.ceiling(client)
        initial = ClientRecordForm.initial_from(client, ceiling)
        damaged = [name for name, value in initial.items() if isinstance(value, vault_scope.Damaged)]
        form = ClientRecordForm(request.POST or None, ceiling=ceiling,
                                initial={k: v for k, v in initial.items() if k not in damaged})
        _offer_replacement(form, damaged)
        if request.method != "POST" or not form.is_valid():
            return render(request, "records/client_form.html", {"form": form, "client": client})
    # Only what the person changed: a damaged field left empty keeps its stored bytes.
    try:
        services.client_update(actor=request.user, client=client,
                               data={name: form.cleaned_data[name] for name in form.changed_data},
                               decider=decider)
    except consent.NotAllowed as exc:
        # New health notes after the client withdrew consent, or anything new under a
        # restriction: refused, with the reason on the form.
        form.add_error(None, str(exc))
        return render(request, "records/client_form.html", {"form": form, "client": client},
                      status=400)
    messages.success(request, _("Client record saved."))
    return redirect("records:client_detail", pk=client.pk)


def _offer_replacement(form: ClientRecordForm, damaged: list[str]) -> None:
    """A damaged field starts empty (the mark is never data) and may stay empty."""
    for name in damaged:
        field = form.fields[name]
        field.required = False
        field.help_text = _("⚠ The stored value is damaged and cannot be shown. Type a new "
                            "value to replace it, or leave this empty to keep it for review.")


def _changed(form: ClientRecordForm) -> dict:
    names = form.changed_data if form.initial else form.cleaned_data.keys()
    return {name: form.cleaned_data[name] for name in names}


@login_required
@require_http_methods(["GET", "POST"])
def treatment_add(request, pk):
    decider, client = _client_at(request, pk, DataClass.L3, actions.TREATMENT_CREATE)
    may_override = contraindications.may_override(decider.role)
    form = TreatmentForm(request.POST or None, may_override=may_override)
    stopped = None
    if request.method == "POST" and form.is_valid():
        try:
            services.treatment_add(actor=request.user, client=client, decider=decider,
                                   **form.treatment())
        except contraindications.Stopped as exc:
            stopped = exc
            form.note_stopped()
        except consent.NotAllowed as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Treatment recorded."))
            return redirect("records:client_detail", pk=client.pk)
    return render(request, "records/treatment_form.html", {
        "form": form, "client": client, "stopped": stopped, "may_override": may_override,
        "may_manage_products": contraindications.may_manage_products(decider.role)},
        status=400 if form.non_field_errors() else 200)


@login_required
@require_http_methods(["GET", "POST"])
def photo_add(request, pk):
    decider, client = _client_at(request, pk, DataClass.L4, actions.PHOTO_CREATE)
    form = PhotoForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.photo_add(actor=request.user, client=client, upload=form.cleaned_data["image"],
                               kind=form.cleaned_data["kind"], taken_on=form.cleaned_data["taken_on"],
                               decider=decider)
        except ValidationError as exc:
            form.add_error("image", exc)
        except consent.NotAllowed as exc:
            form.add_error("image", str(exc))
        else:
            messages.success(request, _("Photo added."))
            return redirect("records:client_detail", pk=client.pk)
    return render(request, "records/upload_form.html",
                  {"form": form, "client": client, "title": _("Add a photo")})


@login_required
@require_http_methods(["GET", "POST"])
def form_add(request, pk):
    decider, client = _client_at(request, pk, DataClass.L4, actions.FORM_CREATE)
    form = SignedForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.form_add(actor=request.user, client=client,
                              upload=form.cleaned_data["document"], kind=form.cleaned_data["kind"],
                              signed_on=form.cleaned_data["signed_on"], decider=decider)
        except ValidationError as exc:
            form.add_error("document", exc)
        else:
            messages.success(request, _("Signed form added."))
            return redirect("records:client_detail", pk=client.pk)
    return render(request, "records/upload_form.html",
                  {"form": form, "client": client, "title": _("Add a signed form")})


def _file_response(data: bytes, content_type: str, filename: str, *, inline: bool) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response["Cache-Control"] = "no-store, private"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    return response


def _damaged_file_response() -> HttpResponse:
    """A marked picture in place of a file that failed authentication or is missing."""
    text = escape(_("⚠ damaged file"))
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="240" height="160" '
           f'viewBox="0 0 240 160" role="img" aria-label="{text}">'
           '<rect x="1" y="1" width="238" height="158" fill="#fff4e5" stroke="#b45309"/>'
           '<text x="120" y="86" text-anchor="middle" font-family="sans-serif" '
           f'font-size="16" fill="#7c2d12">{text}</text></svg>')
    return _file_response(svg.encode(), "image/svg+xml", "damaged.svg", inline=True)


@login_required
@require_GET
def photo_view(request, pk, photo_pk):
    decider = policy.Decider(request.user)
    client = selectors.client_for(request.user, pk, decider=decider)
    photo = get_object_or_404(Photo, pk=photo_pk, client=client)
    if consent.is_withdrawn(client.pk, consent.Purpose.PHOTOS):
        raise Http404  # hidden at once; the destruction of the photos is queued
    small = request.GET.get("size") == "thumb" and bool(photo.thumbnail)
    with _damage_reported(request.user, [client]), door.open_client(
            user=request.user, client=client, purpose=actions.VIEW_PHOTO, action=actions.PHOTO_VIEW,
            want=DataClass.L4, decider=decider):
        data = photo.thumbnail.read() if small else photo.image.read()
    if data is None:
        return _damaged_file_response()
    content_type = "image/jpeg" if small else photo.content_type
    ext = content_type.split("/")[-1]
    return _file_response(data, content_type, f"{client.code}-{photo.kind}.{ext}", inline=True)


@login_required
@require_GET
def form_view(request, pk, form_pk):
    decider = policy.Decider(request.user)
    client = selectors.client_for(request.user, pk, decider=decider)
    signed = get_object_or_404(ClientForm, pk=form_pk, client=client)
    with _damage_reported(request.user, [client]), door.open_client(
            user=request.user, client=client, purpose=actions.VIEW_FORM,
            action=actions.FORM_VIEW, want=DataClass.L4, decider=decider):
        data = signed.document.read()
    if data is None:
        return _damaged_file_response()
    ext = "pdf" if signed.content_type == "application/pdf" else signed.content_type.split("/")[-1]
    return _file_response(data, signed.content_type, f"{client.code}-{signed.kind}.{ext}",
                          inline=signed.content_type != "application/pdf")


@login_required
@reauth_required
@require_http_methods(["GET", "POST"])
def break_glass(request, pk):
    decider = policy.Decider(request.user)
    client = selectors.client_for(request.user, pk, decider=decider)
    form = BreakGlassForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            access_services.break_glass_open(actor=request.user, client=client,
                                             reason=form.cleaned_data["reason"], decider=decider)
        except ValidationError as exc:
            form.add_error("reason", exc)
        except access_services.NotAllowed:
            raise door.AccessDenied() from None
        else:
            messages.warning(request, _("Break-glass access is open for %(m)d minutes. The "
                                        "owners have been alerted.")
                             % {"m": settings.BREAK_GLASS_MINUTES})
            return redirect("records:client_detail", pk=client.pk)
    return render(request, "records/break_glass.html", {"form": form, "client": client})


@login_required
@require_http_methods(["GET", "POST"])
def client_assign(request, pk):
    decider = policy.Decider(request.user)
    client = selectors.client_for(request.user, pk, decider=decider)
    if not decider.may_assign(client):
        door.record_denied(user=request.user, action=actions.CLIENT_ASSIGN, client_id=client.pk)
        raise door.AccessDenied()
    form = AssignForm(request.POST or None, staff=services.assignable_staff(client),
                      initial={"staff": client.assigned_staff})
    if request.method == "POST" and form.is_valid():
        services.client_assign(actor=request.user, client=client,
                               staff_user=form.cleaned_data["staff"],
                               expires_at=form.cleaned_data["expires_at"], decider=decider)
        messages.success(request, _("Assignment saved."))
        return redirect("records:client_detail", pk=client.pk)
    return render(request, "records/assign.html", {"form": form, "client": client})


@login_required
@reauth_required
def client_rekey(request, pk):
    """An owner replaces a client's data key (suspected compromise): every value and file
    of the client is sealed again under a new key and the old key destroyed. (POST only;
    who may not do it learns no more than for a client that does not exist.)"""
    client = selectors.client_for(request.user, pk)
    if policy.role_of(request.user) != Role.OWNER:
        door.record_denied(user=request.user, action=actions.CLIENT_REKEY, client_id=client.pk)
        raise door.AccessDenied()
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    audit.record(actor=request.user, actor_label=request.user.get_username(), role=Role.OWNER,
                 action=actions.CLIENT_REKEY, outcome="allowed", client_id=client.pk,
                 client_code=client.code, location_code=client.location.code,
                 purpose=actions.REKEY_CLIENT)
    counts = rekey.client_rekey(client.pk)
    messages.success(request, _("%(code)s has a new data key: %(values)d values and %(files)d "
                                "files were sealed again and the old key destroyed.")
                     % {"code": client.code, "values": counts["values"], "files": counts["files"]})
    return redirect("records:client_detail", pk=client.pk)


@login_required
@reauth_required
@require_http_methods(["GET", "POST"])
def client_destroy(request, pk):
    """An owner destroys one client (e.g. after a deletion request): the same path as
    retention, ending in a signed certificate."""
    client = selectors.client_for(request.user, pk)
    if policy.role_of(request.user) != Role.OWNER:
        door.record_denied(user=request.user, action=actions.CLIENT_DESTROY_REQUEST,
                           client_id=client.pk)
        raise door.AccessDenied()
    form = DestroyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            done = destruction.destroy_now(client, actor=request.user,
                                           basis=form.cleaned_data["basis"],
                                           reason=form.cleaned_data["reason"])
        except destruction.NotDestroyable as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("%(code)s has been destroyed. The signed certificate "
                                        "is below.") % {"code": done.client_code})
            return redirect("records:destruction_detail", pk=done.pk)
    return render(request, "records/destroy.html", {"form": form, "client": client})


def _owner_only(request) -> None:
    if policy.role_of(request.user) != Role.OWNER:
        raise PermissionDenied


def _owners(view):
    """Owners' pages: anyone else is refused first (before any other check)."""
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        _owner_only(request)
        return view(request, *args, **kwargs)

    return wrapped


@login_required
@require_GET
def destruction_list(request):
    _owner_only(request)
    return render(request, "records/destructions.html",
                  {"destructions": Destruction.objects.select_related(
                      "requested_by", "approved_by")[:200]})


@login_required
@require_GET
def destruction_detail(request, pk):
    _owner_only(request)
    done = get_object_or_404(Destruction, pk=pk)
    return render(request, "records/destruction.html", {
        "d": done, "statement": done.certificate.get("certificate", {}),
        "signature": done.certificate.get("signature", "")})


@login_required
@require_GET
def destruction_certificate(request, pk):
    """The signed certificate as a JSON file (verify it with `manage.py certificate_verify`
    or offline with records/certificate_file.py and the public key)."""
    _owner_only(request)
    done = get_object_or_404(Destruction, pk=pk, state=Destruction.State.CERTIFIED)
    from .certificate_file import dumps

    response = HttpResponse(dumps(done.certificate), content_type="application/json")
    response["Content-Disposition"] = (f'attachment; filename="destruction-{done.client_code}-'
                                       f'{done.pk}.json"')
    return response


@login_required
@require_GET
def destruction_certificate_pdf(request, pk):
    """The certificate as a PDF in the owner's language, the signed JSON attached inside."""
    _owner_only(request)
    done = get_object_or_404(Destruction, pk=pk, state=Destruction.State.CERTIFIED)
    response = HttpResponse(certificate_pdf.render(done.certificate,
                                                   public_key=checkpoints.public_key()),
                            content_type="application/pdf")
    response["Content-Disposition"] = (f'attachment; filename="destruction-{done.client_code}-'
                                       f'{done.pk}.pdf"')
    return response


def _retention_page(request, *, policy_form=None, hold_form=None, status=200):
    policies = retention.policies()
    forms = [(p, policy_form if policy_form is not None and policy_form.instance.pk == p.pk
              else RetentionPolicyForm(instance=p, prefix=p.key)) for p in policies]
    return render(request, "records/retention.html", {
        "policies": forms,
        "hold_form": hold_form or LegalHoldForm(),
        "proposals": RetentionProposal.objects.filter(
            state=RetentionProposal.State.PROPOSED).select_related("policy")[:500],
        "decided": RetentionProposal.objects.exclude(
            state=RetentionProposal.State.PROPOSED).order_by("-decided_at")[:20],
        "holds": LegalHold.objects.filter(lifted_at__isnull=True).order_by("until"),
    }, status=status)


@login_required
@require_GET
def retention_page(request):
    """Owners: the retention policy, the clients proposed for destruction, legal holds."""
    _owner_only(request)
    return _retention_page(request)


@login_required
@_owners
@reauth_required
@require_http_methods(["POST"])
def retention_policy(request):
    _owner_only(request)
    policy = get_object_or_404(RetentionPolicy, key=request.POST.get("key", "client"))
    form = RetentionPolicyForm(request.POST, instance=policy, prefix=policy.key)
    if not form.is_valid():
        return _retention_page(request, policy_form=form, status=400)
    form.save()
    audit.record(actor=request.user, actor_label=request.user.get_username(), role=Role.OWNER,
                 action=actions.RETENTION_POLICY_CHANGE, outcome="allowed",
                 purpose=actions.DESTROY_CLIENT,
                 detail={"policy": policy.key, "years": policy.years,
                         "automatic": policy.automatic, "enabled": policy.enabled})
    messages.success(request, _("The retention policy is saved."))
    return redirect("records:retention")


@login_required
@_owners
@reauth_required
@require_http_methods(["POST"])
def retention_decide(request, pk):
    """Approve (the client is destroyed) or keep one proposed client."""
    _owner_only(request)
    proposal = get_object_or_404(RetentionProposal, pk=pk)
    if request.POST.get("decision") == "approve":
        try:
            retention.approve(proposal, actor=request.user)
        except destruction.NotDestroyable as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("%(code)s has been destroyed.") % {"code": proposal.client_code})
    else:
        retention.dismiss(proposal, actor=request.user)
        messages.info(request, _("%(code)s is kept.") % {"code": proposal.client_code})
    return redirect("records:retention")


@login_required
@_owners
@reauth_required
@require_http_methods(["POST"])
def legal_hold_place(request):
    _owner_only(request)
    form = LegalHoldForm(request.POST)
    client = None
    if form.is_valid():
        client = Client.objects.filter(code=form.cleaned_data["code"].strip()).first()
        if client is None:
            form.add_error("code", _("No client has this code."))
    if client is None:
        return _retention_page(request, hold_form=form, status=400)
    hold = retention.place_hold(client, actor=request.user, reason=form.cleaned_data["reason"],
                                until=form.cleaned_data["until"])
    audit.record(actor=request.user, actor_label=request.user.get_username(), role=Role.OWNER,
                 action=actions.LEGAL_HOLD_PLACE, outcome="allowed", client_id=client.pk,
                 client_code=client.code, purpose=actions.DESTROY_CLIENT,
                 detail={"until": hold.until.isoformat()})
    messages.success(request, _("%(code)s is held until %(until)s.")
                     % {"code": client.code, "until": hold.until})
    return redirect("records:retention")


@login_required
@_owners
@require_http_methods(["POST"])
def legal_hold_lift(request, pk):
    _owner_only(request)
    hold = get_object_or_404(LegalHold, pk=pk, lifted_at__isnull=True)
    retention.lift_hold(hold, actor=request.user)
    audit.record(actor=request.user, actor_label=request.user.get_username(), role=Role.OWNER,
                 action=actions.LEGAL_HOLD_LIFT, outcome="allowed", client_id=hold.client_id,
                 client_code=hold.client_code, purpose=actions.DESTROY_CLIENT)
    return redirect("records:retention")
