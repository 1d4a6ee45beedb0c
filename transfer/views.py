"""The owners' transfer pages; auditors read every case and change nothing.

A step asked out of order is answered 409 with the case page and what is wrong.
"""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from access import policy
from access.auth_views import reauth_required, recent_reauth
from access.middleware import needs_otp
from access.models import Location, Role
from access.views import owner_required
from audit import checkpoints

from . import cases, checklist, handover, notices, package, packaging, scope
from .cases import StepRefused
from .models import (
    Approval,
    Basis,
    ChecklistEntry,
    ChecklistItem,
    ChecklistTemplateItem,
    Notice,
    Objection,
    Package,
    Part,
    Receipt,
    State,
    TransferCase,
)

READERS = (Role.OWNER, Role.AUDITOR)


def _refusal_shown(view):
    """A step refused (StepRefused) is answered 409: the case page, saying why."""

    @wraps(view)
    def wrapped(request, pk, *args, **kwargs):
        try:
            return view(request, pk, *args, **kwargs)
        except StepRefused as exc:
            return _page(request, get_object_or_404(TransferCase, pk=pk), error=str(exc),
                         status=409)

    return wrapped


def _readers_only(request) -> None:
    if policy.role_of(request.user) not in READERS:
        raise PermissionDenied


@never_cache
@login_required
@require_GET
def case_list(request):
    _readers_only(request)
    return render(request, "transfer/cases.html", {
        "cases": TransferCase.objects.all(),
        "is_owner": policy.role_of(request.user) == Role.OWNER,
        "defaults": [label for _key, label in checklist.DEFAULTS],
        "template": ChecklistTemplateItem.objects.filter(active=True)})


@never_cache
@owner_required
@require_POST
def checklist_template(request):
    """Owners add an item every new case's checklist starts with, or take one out."""
    try:
        if request.POST.get("remove"):
            checklist.template_remove(request.POST["remove"], actor=request.user)
        else:
            checklist.template_add(actor=request.user, text=request.POST.get("text", ""))
    except (StepRefused, ValidationError) as exc:
        messages.error(request, exc.messages[0] if isinstance(exc, ValidationError)
                       else str(exc))
    else:
        messages.success(request, _("The checklist template is saved."))
    return redirect(f"{reverse('transfer:cases')}#checklist-template")


def _form_context(values=None) -> dict:
    return {"locations": Location.objects.all(), "parts": Part.choices, "bases": Basis.choices,
            "values": values or {}}


@never_cache
@owner_required
@require_http_methods(["GET", "POST"])
def case_new(request):
    error = ""
    if request.method == "POST":
        post = request.POST
        try:
            case = cases.open_case(
                actor=request.user, title=post.get("title", ""),
                recipient_name=post.get("recipient_name", ""),
                recipient_contact=post.get("recipient_contact", ""),
                recipient_key=post.get("recipient_key", ""),
                location_codes=post.getlist("locations"), parts=post.getlist("parts"),
                basis=post.get("basis", ""), objection_days=_int(post.get("objection_days"), 30))
        except StepRefused as exc:
            error = str(exc)
        else:
            messages.success(request, _("The case is open. Confirm the recipient's key "
                                        "fingerprint with them before anything else."))
            return redirect("transfer:case", pk=case.pk)
    values = ({**request.POST.dict(), "locations": request.POST.getlist("locations"),
               "parts": request.POST.getlist("parts")} if request.method == "POST"
              else {"parts": [Part.CONTACT], "objection_days": 30})
    return render(request, "transfer/case_new.html", _form_context(values) | {"error": error},
                  status=400 if error else 200)


def _int(text, default: int) -> int:
    try:
        return int(text)
    except (TypeError, ValueError):
        return default


def _page(request, case: TransferCase, *, error: str = "", status: int = 200):
    is_owner = policy.role_of(request.user) == Role.OWNER
    plan = scope.plan(case)
    latest = checklist.latest(case)
    entries = list(ChecklistEntry.objects.filter(case=case).select_related("by", "item"))
    notes = checklist.notes(case, actor=request.user) if entries else {}
    items = [{"item": item, "label": checklist.label(item), "latest": latest[item.pk],
              "history": [(e, notes.get(e.pk)) for e in entries if e.item_id == item.pk]}
             for item in ChecklistItem.objects.filter(case=case)]
    road = [(state, label, cases.ROAD.index(state) < cases.ROAD.index(case.state)
             if case.state in cases.ROAD else False) for state, label in State.choices
            if state != State.CANCELLED]
    return render(request, "transfer/case.html", {
        "case": case, "is_owner": is_owner, "plan": plan, "items": items, "road": road,
        "error": error, "approvals": Approval.objects.filter(case=case).select_related("owner"),
        "valid_approvals": cases.valid_approvals(case).count(),
        "needed": cases.APPROVALS_NEEDED,
        "notices": Notice.objects.filter(case=case).count(),
        "objections": Objection.objects.filter(case=case, withdrawn_at__isnull=True).count(),
        "part_labels": [label for value, label in Part.choices if value in case.parts],
        "location_labels": list(Location.objects.filter(code__in=case.location_codes)
                                .values_list("name", flat=True)),
        "scope_editable": case.state in cases.SCOPE_EDITABLE,
        "checklist_open": case.state in checklist.EDITABLE,
        "cancellable": case.state in cases.CANCELLABLE,
        "opener": request.user.pk == case.opened_by_id,
        "packages": Package.objects.filter(case=case),
        "receipt": Receipt.objects.filter(case=case).first(),
        "today": timezone.localdate(),
        "seller_key": package.public_key_text(checkpoints.public_key()),
        "seller_fingerprint": package.fingerprint(checkpoints.public_key()),
        "approved": cases.approved(case),
    } | _form_context({"locations": case.location_codes, "parts": case.parts,
                       "basis": case.basis}), status=status)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
@_refusal_shown
def case_detail(request, pk):
    _readers_only(request)
    if request.method == "POST" and policy.role_of(request.user) != Role.OWNER:
        raise PermissionDenied  # auditors read
    case = get_object_or_404(TransferCase, pk=pk)
    if request.method == "GET":
        return _page(request, case)
    step = request.POST.get("step", "")
    if step == "confirm_key":
        cases.confirm_key(case, actor=request.user, how=request.POST.get("how", ""))
    elif step == "checklist":
        cases.start_checklist(case, actor=request.user)
    elif step == "notice":
        cases.start_notice_period(case, actor=request.user)
    elif step == "approval":
        cases.start_approval(case, actor=request.user)
    elif step == "scope":
        cases.change_scope(case, actor=request.user,
                           location_codes=request.POST.getlist("locations"),
                           parts=request.POST.getlist("parts"),
                           basis=request.POST.get("basis", ""))
    elif step == "add_item":
        checklist.add_item(case, actor=request.user, text=request.POST.get("text", ""))
    elif step == "make_notices":
        made = notices.make_all(case, actor=request.user)
        messages.info(request, _("%(n)d clients have a notice and a link.") % {"n": made})
    elif step == "package":
        packaging.request_build(case, actor=request.user)
        messages.info(request, _("The package is being built."))
        return redirect("transfer:case", pk=case.pk)
    elif step == "close":
        handover.close(case, actor=request.user)
    elif step == "cancel":
        cases.cancel(case, actor=request.user, reason=request.POST.get("reason", ""))
    else:
        return _page(request, case, error=_("Unknown step."), status=400)
    messages.success(request, _("Saved."))
    return redirect("transfer:case", pk=case.pk)


@never_cache
@owner_required
@require_POST
@_refusal_shown
def checklist_entry(request, pk, item_pk):
    case = get_object_or_404(TransferCase, pk=pk)
    item = get_object_or_404(ChecklistItem, pk=item_pk, case=case)
    checklist.record(case, item, actor=request.user, status=request.POST.get("status", ""),
                     note=request.POST.get("note", ""), evidence=request.FILES.get("evidence"))
    messages.success(request, _("The checklist entry is recorded."))
    return redirect(f"{case_url(case)}#item-{item.pk}")


def case_url(case: TransferCase) -> str:
    return reverse("transfer:case", args=[case.pk])


@never_cache
@login_required
@require_GET
def evidence(request, pk, entry_pk):
    _readers_only(request)
    entry = get_object_or_404(ChecklistEntry, pk=entry_pk, case_id=pk)
    if not entry.evidence_sha256:
        raise Http404
    data = checklist.evidence_of(entry, actor=request.user)
    response = HttpResponse(data, content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="{_safe(entry.evidence_name)}"'
    return response


def _safe(name: str) -> str:
    kept = "".join(c for c in name if c.isalnum() or c in "._- ")
    return kept.strip() or "evidence"


@never_cache
@owner_required
@reauth_required
@require_GET
def notices_csv(request, pk):
    """The notices for the salon's SMS and email tools: names, phones and links, opened
    and recorded (after the password: it is the whole client list's contact details)."""
    case = get_object_or_404(TransferCase, pk=pk)
    if not Notice.objects.filter(case=case).exists():
        return _page(request, case, error=_("Make the notices first."), status=409)
    data = notices.export_csv(case, actor=request.user,
                              base_url=request.build_absolute_uri("/"))
    response = HttpResponse(data, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="transfer-notices-{case.pk}.csv"'
    return response


@never_cache
@owner_required
@reauth_required
@require_POST
@_refusal_shown
def approve(request, pk):
    case = get_object_or_404(TransferCase, pk=pk)
    # The password again, and the authenticator code with it (reauth asks for the code of
    # every role that has one to give; an owner without one cannot approve).
    cases.approve(case, actor=request.user,
                  reauthenticated=recent_reauth(request) and needs_otp(request.user))
    messages.success(request, _("Your approval is recorded."))
    return redirect("transfer:case", pk=case.pk)


@never_cache
@login_required
@require_GET
def package_progress(request, pk, package_pk):
    _readers_only(request)
    p = get_object_or_404(Package, pk=package_pk, case_id=pk)
    return JsonResponse({
        "status": p.status, "status_label": p.get_status_display(), "done": p.done,
        "total": p.total, "finished": p.status != Package.Status.BUILDING,
        "percent": round(100 * p.done / p.total, 1) if p.total else None,
        "eta_seconds": None})


@never_cache
@owner_required
@reauth_required
@require_POST
@_refusal_shown
def package_download(request, pk, package_pk):
    """The one download of the sealed package, to hand to the recipient."""
    p = get_object_or_404(Package.objects.select_related("case"), pk=package_pk, case_id=pk)
    stream = packaging.take(p, actor=request.user)
    response = StreamingHttpResponse(stream, content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="{p.file_name}"'
    response["Content-Length"] = str(p.byte_size)
    return response


@never_cache
@owner_required
@require_POST
@_refusal_shown
def receipt_upload(request, pk):
    case = get_object_or_404(TransferCase, pk=pk)
    upload = request.FILES.get("receipt")
    if upload is None:
        raise StepRefused(_("Choose the receipt file the recipient sent."))
    handover.record_receipt(case, upload.read(handover.RECEIPT_MAX_BYTES + 1),
                            actor=request.user)
    messages.success(request, _("The receipt is recorded."))
    return redirect("transfer:case", pk=case.pk)


@never_cache
@owner_required
@reauth_required
@require_POST
@_refusal_shown
def destroy_copies(request, pk):
    """Destroy the seller's copies now that the grace period has passed (a task: it can
    take minutes for a large salon)."""
    case = get_object_or_404(TransferCase, pk=pk)
    handover.check_destroyable(case)
    from . import tasks

    tasks.destroy_seller_copies.delay(str(case.pk), request.user.pk)
    messages.info(request, _("The seller's copies are being destroyed; the certificate "
                             "appears here when it is done."))
    return redirect("transfer:case", pk=case.pk)


@never_cache
@login_required
@require_GET
def certificate(request, pk):
    _readers_only(request)
    case = get_object_or_404(TransferCase, pk=pk)
    receipt_row = Receipt.objects.filter(case=case, certificate__isnull=False).first()
    if receipt_row is None:
        raise Http404
    from records import certificate_file

    response = HttpResponse(certificate_file.dumps(receipt_row.certificate),
                            content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="transfer-certificate-{case.pk}.json"'
    return response


@never_cache
@login_required
@require_GET
def case_export(request, pk):
    """The whole case for auditors, as JSON: road, checklist history (notes opened and
    recorded), notices, answers, approvals, packages, downloads, receipt, certificate and
    the audit events that name the case."""
    _readers_only(request)
    case = get_object_or_404(TransferCase, pk=pk)
    from . import audit_export

    data = audit_export.case_record(case, actor=request.user)
    response = JsonResponse(data, json_dumps_params={"ensure_ascii": False, "indent": 1})
    response["Content-Disposition"] = f'attachment; filename="transfer-case-{case.pk}.json"'
    return response
