"""The auditor's workspace. Events are metadata: these pages never show record contents."""

from __future__ import annotations

import csv
import io
import json
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from . import actions, people, selectors, services
from .forms import AlertActionForm, EventFilterForm
from .models import AccessEvent, Alert, VerificationRun

EXPORT_FIELDS = ("seq", "at", "actor_label", "role", "action", "client_code", "client_id",
                 "location_code", "data_class", "purpose", "break_glass", "outcome", "ip",
                 "user_agent", "request_id", "hash")


def _deny(request, action: str):
    services.record(actor=request.user, actor_label=request.user.get_username(),
                    action=action, outcome="denied")
    raise PermissionDenied


def _guarded(check_setting: str, action: str):
    def decorate(view):
        @wraps(view)
        @login_required
        def wrapped(request, *args, **kwargs):
            if not import_string(getattr(settings, check_setting))(request.user):
                _deny(request, action)
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


auditor_view = _guarded("AUDIT_VIEWER_CHECK", actions.AUDIT_VIEW)
subject_report_view = _guarded("AUDIT_SUBJECT_REPORT_CHECK", actions.AUDIT_SUBJECT_REPORT)
EXPORT_ACTIONS = {"csv": actions.AUDIT_EXPORT_CSV, "jsonl": actions.AUDIT_EXPORT_JSONL}


def sensitive(view):
    """Exports ask for re-authentication; the check itself lives with the login code."""
    guarded = import_string(settings.SENSITIVE_ACTION_GUARD)(view)
    return wraps(view)(guarded)


def _events_page(request, template: str, extra: dict, base=None):
    form = EventFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    qs = selectors.filtered(data)
    if base is not None:
        qs = qs & base
    before = request.GET.get("before")
    rows, older = selectors.page(qs, int(before) if before and before.isdigit() else None)
    people.name_rows(rows)
    query = request.GET.copy()
    query.pop("before", None)
    return render(request, template, {
        "form": form, "rows": rows, "older": older, "query": query.urlencode(),
        "verification": VerificationRun.objects.first(),
        "open_alerts": Alert.objects.filter(state=Alert.State.OPEN).count(), **extra})


@auditor_view
def events(request):
    return _events_page(request, "audit/events.html", {})


@auditor_view
def person_timeline(request, user_id):
    person = get_object_or_404(get_user_model(), pk=user_id)
    mine = AccessEvent.objects.filter(actor=person)
    return _events_page(request, "audit/person.html", {
        "person": person,
        "person_name": people.names([person.pk]).get(person.pk, person.get_username()),
        "days": selectors.with_bars(selectors.per_day(mine, today=timezone.localdate()))},
        base=mine)


@auditor_view
def client_history(request, code):
    ids = selectors.client_ids_for_code(code)
    request.GET = request.GET.copy()
    request.GET["client_code"] = code
    return _events_page(request, "audit/client.html", {"code": code, "known": bool(ids)})


@auditor_view
def charts(request):
    form = EventFilterForm(request.GET or None)
    qs = selectors.filtered(form.cleaned_data if form.is_valid() else {})
    return render(request, "audit/charts.html", {
        "form": form,
        "days": selectors.with_bars(selectors.per_day(qs, today=timezone.localdate())),
        "people": _named(selectors.with_bars(selectors.per_person(qs)))})


def _named(rows: list[dict]) -> list[dict]:
    known = people.names(r["actor_id"] for r in rows)
    return [r | {"person": known.get(r["actor_id"]) or r["actor_label"]} for r in rows]


@auditor_view
@sensitive
def export(request, fmt: str):
    form = EventFilterForm(request.GET or None)
    if request.GET and not form.is_valid():
        messages.error(request, _("Correct the filter before exporting."))
        return redirect("audit:events")
    qs = selectors.filtered(form.cleaned_data if form.is_valid() else {})
    # Fix the set before recording, so the export's own event is not part of it.
    last = qs.values_list("seq", flat=True).first()
    qs = qs.filter(seq__lte=last) if last is not None else qs.none()
    rows = qs.count()
    # The export is itself recorded, before a single row leaves.
    services.record(actor=request.user, actor_label=request.user.get_username(),
                    action=EXPORT_ACTIONS[fmt], outcome="allowed",
                    detail={"rows": rows, "filter": form.described()})
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    if fmt == "csv":
        body, content_type = _csv_lines(qs), "text/csv; charset=utf-8"
    else:
        body, content_type = _jsonl_lines(qs), "application/x-ndjson"
    response = StreamingHttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.{fmt}"'
    response["Cache-Control"] = "no-store"
    return response


# The CSV is read by people in a spreadsheet: headers in their language, actions and
# purposes by label beside their names. JSON Lines keeps the field names for scripts.
CSV_HEADERS = {
    "seq": gettext_lazy("No."), "at": gettext_lazy("Time"), "actor_label": gettext_lazy("Person"),
    "role": gettext_lazy("Role"), "action": gettext_lazy("Action"),
    "action_label": gettext_lazy("What happened"), "client_code": gettext_lazy("Client code"),
    "client_id": gettext_lazy("Client id"), "location_code": gettext_lazy("Location"),
    "data_class": gettext_lazy("Data class"), "purpose": gettext_lazy("Purpose"),
    "break_glass": gettext_lazy("Break-glass"), "outcome": gettext_lazy("Outcome"),
    "ip": gettext_lazy("IP"), "user_agent": gettext_lazy("Browser"),
    "request_id": gettext_lazy("Request id"), "hash": gettext_lazy("Hash"),
}


def _export_rows(qs):
    for row in qs.values_list(*EXPORT_FIELDS).iterator(chunk_size=5000):
        values = dict(zip(EXPORT_FIELDS, row, strict=True))
        values["at"] = timezone.localtime(values["at"]).isoformat()  # the salon's own clock
        values["client_id"] = str(values["client_id"]) if values["client_id"] else ""
        yield values


def _csv_lines(qs):
    buffer = io.StringIO()
    fields = list(CSV_HEADERS)
    writer = csv.DictWriter(buffer, fieldnames=fields)
    buffer.write("\ufeff")  # Excel opens UTF-8 CSV with Chinese text correctly with a BOM
    writer.writerow({f: str(CSV_HEADERS[f]) for f in fields})
    for values in _export_rows(qs):
        values["action_label"] = actions.action_label(values["action"])
        values["purpose"] = actions.purpose_label(values["purpose"])
        # Neutralise spreadsheet formulas in free-text columns.
        for key in ("actor_label", "purpose", "user_agent"):
            if str(values[key]).startswith(("=", "+", "-", "@")):
                values[key] = "'" + str(values[key])
        writer.writerow(values)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def _jsonl_lines(qs):
    for values in _export_rows(qs):
        yield json.dumps(values, ensure_ascii=False) + "\n"


@auditor_view
def alerts(request):
    state = request.GET.get("state", Alert.State.OPEN)
    qs = Alert.objects.all() if state == "all" else Alert.objects.filter(state=state)
    return render(request, "audit/alerts.html", {
        "alerts": people.name_rows(qs.select_related("acknowledged_by", "resolved_by")[:200]),
        "state": state,
        "states": Alert.State.choices})


@auditor_view
def alert_detail(request, pk):
    alert = get_object_or_404(Alert, pk=pk)
    people.name_rows([alert])
    return render(request, "audit/alert.html", {"alert": alert, "form": AlertActionForm()})


@auditor_view
@require_POST
def alert_act(request, pk, step: str):
    alert = get_object_or_404(Alert, pk=pk)
    form = AlertActionForm(request.POST, resolving=step == "resolve")
    if not form.is_valid():
        return render(request, "audit/alert.html", {"alert": alert, "form": form})
    services.alert_step(actor=request.user, alert=alert, step=step,
                        comment=form.cleaned_data["comment"])
    messages.success(request, _("Alert updated."))
    return redirect("audit:alert", pk=alert.pk)


@subject_report_view
def subject_report(request):
    code = request.GET.get("code", "").strip()[:40]
    if not code:
        return render(request, "audit/subject_report_form.html", {})
    ids = selectors.client_ids_for_code(code)
    if not ids:
        messages.error(request, _("No access has been recorded for a client with this code."))
        return render(request, "audit/subject_report_form.html", {"code": code})
    history = people.name_rows(selectors.filtered({"client_code": code}).select_related("actor")
                               .filter(actor__isnull=False).order_by("seq")[:5000])
    services.record(actor=request.user, actor_label=request.user.get_username(),
                    action=actions.AUDIT_SUBJECT_REPORT, outcome="allowed", client_id=ids[0],
                    client_code=selectors.normal_code(code), detail={"events": len(history)})
    return render(request, "audit/subject_report.html", {
        "code": code, "history": history, "generated": timezone.now(),
        "people": sorted({e.person for e in history})})
