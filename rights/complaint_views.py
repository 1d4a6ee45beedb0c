"""Complaint pages: staff record one; owners and managers handle them; auditors read the
list and the monthly summary, never what was written."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from access import door, integrity
from audit import actions
from audit.selectors import normal_code
from records.models import Client
from records.selectors import clients_visible_to
from vault.scope import damage_shown

from . import complaints
from .complaint_forms import AssignForm, ComplaintForm, ResolveForm
from .complaints import ComplaintAccess, ComplaintStateError
from .models import Complaint

PAGE_SIZE = 50
TABS = {
    "open": gettext_lazy("Open"),
    "overdue": gettext_lazy("Overdue"),
    "resolved": gettext_lazy("Resolved"),
}


def _needs(what: str):
    """Refuse anyone who may not `what` (read, handle, file) first, before any other check,
    and hand the view what the person may do."""
    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            access = complaints.access_for(request.user)
            if not getattr(access, what):
                raise PermissionDenied
            return view(request, access, *args, **kwargs)

        return wrapped

    return decorator


def _complaint(pk) -> Complaint:
    complaint = (Complaint.objects.select_related("handler__staff", "received_by__staff",
                                                  "resolved_by__staff").filter(pk=pk).first())
    if complaint is None:
        raise Http404
    return complaint


def _tab_queryset(tab: str, today: dt.date):
    if tab == "overdue":
        return complaints.overdue(today=today).order_by("due_on", "received_at")
    if tab == "resolved":
        return Complaint.objects.filter(state=Complaint.State.RESOLVED).order_by("-resolved_at")
    return complaints.open_complaints().order_by("due_on", "received_at")


@login_required
@_needs("read")
@require_GET
def complaint_list(request, access: ComplaintAccess):
    tab = request.GET.get("show", "open")
    tab = tab if tab in TABS else "open"
    today = timezone.localdate()
    page = Paginator(_tab_queryset(tab, today).select_related("handler__staff"),
                     PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "rights/complaint_list.html", {
        "access": access, "tab": tab, "tabs": TABS.items(), "page": page, "today": today,
        "counts": {"open": complaints.open_complaints().count(),
                   "overdue": complaints.overdue(today=today).count()},
    })


def _named_client(user, form: ComplaintForm):
    """The client the code names, among those the user may see; None when no code."""
    code = normal_code(form.cleaned_data["client_code"])
    if not code:
        return None
    client = clients_visible_to(user).select_related("location").filter(code=code).first()
    if client is None:
        form.add_error("client_code", _("No client you can see has this code."))
    return client


@login_required
@_needs("file")
@require_http_methods(["GET", "POST"])
def complaint_new(request, access: ComplaintAccess):
    """Record a complaint received at the desk, by phone or in writing."""
    form = ComplaintForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        client = _named_client(request.user, form)
        if form.is_valid():
            complaint = _file(request, form.cleaned_data, client)
            messages.success(request, _("The complaint is recorded. It is due on %(day)s.")
                             % {"day": complaint.due_on.isoformat()})
            if access.handle:
                return redirect("rights:complaint_detail", pk=complaint.pk)
            return redirect("rights:complaint_new")
    return render(request, "rights/complaint_new.html", {"form": form, "access": access},
                  status=400 if request.method == "POST" else 200)


def _file(request, data: dict, client) -> Complaint:
    # A complaint that names no client is sealed under a key of its own.
    subject = client.pk if client is not None else uuid.uuid4()
    with door.open_case_file(user=request.user, subjects=[subject],
                             purpose=actions.HANDLE_COMPLAINT, action=actions.COMPLAINT_OPEN,
                             detail={"category": data["category"], "channel": data["channel"],
                                     "names_client": client is not None}):
        return complaints.file(category=data["category"], channel=data["channel"],
                               description=data["description"], client=client,
                               actor=request.user, subject_id=subject)


@login_required
@_needs("read")
@require_GET
def complaint_detail(request, access: ComplaintAccess, pk):
    complaint = _complaint(pk)
    if not access.handle:  # auditors: what, when and who; not what was written
        return render(request, "rights/complaint_detail.html", {
            "access": access, "complaint": complaint, "today": timezone.localdate()})
    return _case_file_page(request, complaint, access)


def _case_file_page(request, complaint: Complaint, access: ComplaintAccess, *,
                    assign_form=None, resolve_form=None, status: int = 200):
    """The complaint with its text, for an owner or manager: opened through the door.

    A value that cannot be read (damaged, or its key gone) shows as a mark and raises an
    integrity alert, as on a client's page, rather than taking the page down."""
    with damage_shown() as damaged, door.open_case_file(
            user=request.user, subjects=[complaint.subject_id],
            purpose=actions.HANDLE_COMPLAINT, action=actions.COMPLAINT_STEP,
            detail=complaints.audit_facts(complaint) | {"step": "view"}):
        response = render(request, "rights/complaint_detail.html", {
            "access": access, "complaint": complaint, "today": timezone.localdate(),
            "description": complaint.description, "resolution": complaint.resolution,
            "assign_form": assign_form or AssignForm(
                initial={"handler": complaint.handler_id or request.user.pk}),
            "resolve_form": resolve_form or ResolveForm(),
        }, status=status)
    if damaged:
        client = Client.objects.select_related("location").filter(pk=complaint.client_id).first()
        integrity.damaged_values_report(user=request.user, notes=damaged,
                                        clients={complaint.subject_id: client})
    return response


@login_required
@_needs("handle")
@require_POST
def complaint_assign(request, access: ComplaintAccess, pk):
    complaint = _complaint(pk)
    form = AssignForm(request.POST)
    if form.is_valid():
        try:
            complaints.assign(complaint, handler=form.cleaned_data["handler"],
                              actor=request.user)
        except ComplaintStateError:
            messages.error(request, _("This complaint is already resolved."))
            return redirect("rights:complaint_detail", pk=complaint.pk)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("%(person)s handles this complaint.")
                             % {"person": form.cleaned_data["handler"].staff})
            return redirect("rights:complaint_detail", pk=complaint.pk)
    return _case_file_page(request, complaint, access, assign_form=form, status=400)


@login_required
@_needs("handle")
@require_POST
def complaint_resolve(request, access: ComplaintAccess, pk):
    complaint = _complaint(pk)
    form = ResolveForm(request.POST)
    if not form.is_valid():
        return _case_file_page(request, complaint, access, resolve_form=form, status=400)
    if complaint.state != Complaint.State.OPEN:
        messages.error(request, _("This complaint is already resolved."))
        return redirect("rights:complaint_detail", pk=complaint.pk)
    with door.open_case_file(user=request.user, subjects=[complaint.subject_id],
                             purpose=actions.HANDLE_COMPLAINT, action=actions.COMPLAINT_STEP,
                             detail=complaints.audit_facts(complaint) | {"step": "resolve"}):
        try:
            complaints.resolve(complaint, resolution=form.cleaned_data["resolution"],
                               actor=request.user)
        except ComplaintStateError:  # resolved by someone else a moment ago
            messages.error(request, _("This complaint is already resolved."))
            return redirect("rights:complaint_detail", pk=complaint.pk)
    messages.success(request, _("The complaint is resolved."))
    return redirect("rights:complaint_detail", pk=complaint.pk)


# -- the monthly summary ---------------------------------------------------------------------
def _last_month(today: dt.date) -> dt.date:
    return (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def _month_of(request) -> dt.date:
    """The first day of the month asked for (?month=YYYY-MM); last month when none or
    not a month."""
    try:
        year, month = (int(part) for part in request.GET.get("month", "").split("-"))
        if 2000 <= year <= 2999:
            return dt.date(year, month, 1)
    except ValueError:
        pass
    return _last_month(timezone.localdate())


def _month_param(day: dt.date) -> str:
    return day.strftime("%Y-%m")


@login_required
@_needs("read")
@require_GET
def complaint_summary(request, access: ComplaintAccess):
    first = _month_of(request)
    this_month = timezone.localdate().replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return render(request, "rights/complaint_summary.html", {
        "access": access, "summary": complaints.monthly_summary(first.year, first.month),
        "month": _month_param(first), "first": first,
        "previous": _month_param(_last_month(first)),
        "next": _month_param(following) if following <= this_month else "",
    })


CSV_HEADERS = (
    gettext_lazy("Category"), gettext_lazy("Received"), gettext_lazy("Resolved"),
    gettext_lazy("Resolved within the deadline"), gettext_lazy("Still open"),
    gettext_lazy("Overdue"), gettext_lazy("Median days to resolve"),
)


@login_required
@_needs("read")
@require_GET
def complaint_summary_csv(request, access: ComplaintAccess):
    first = _month_of(request)
    summary = complaints.monthly_summary(first.year, first.month)
    buffer = io.StringIO()
    buffer.write("\ufeff")  # Excel opens UTF-8 CSV with Chinese text correctly with a BOM
    writer = csv.writer(buffer)
    writer.writerow([str(h) for h in CSV_HEADERS])
    for row in [*summary["categories"], summary["total"] | {"label": _("Total")}]:
        writer.writerow([str(row["label"])] + [
            "" if row[key] is None else row[key] for key in complaints.SUMMARY_COLUMNS])
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (f'attachment; filename="complaints-'
                                       f'{_month_param(first)}.csv"')
    return response
