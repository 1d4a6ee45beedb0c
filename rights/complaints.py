"""Complaints and feedback: filed with a category and a deadline, handled by an owner or a
manager, resolved with a written resolution, and summed up by month.

What the client said and what the salon answered are sealed (L3); every other column is
metadata that the list, the summary and the audit log may show.
"""

from __future__ import annotations

import datetime as dt
import statistics
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from access import policy
from access.models import Role
from audit import actions
from audit import services as audit
from records.models import Client
from vault.classes import DataClass

from .models import Channel, Complaint

HANDLERS = frozenset({Role.OWNER, Role.MANAGER})
# Auditors read the metadata (list, summary), never what was written.
READERS = HANDLERS | {Role.AUDITOR}


@dataclass(frozen=True)
class ComplaintAccess:
    """What one person may do with complaints, decided once per request."""

    read: bool  # the list, the summary, a complaint's metadata
    handle: bool  # the text, assigning, resolving
    file: bool  # record a complaint received at the desk or by phone

    @property
    def any(self) -> bool:
        return self.read or self.file


def access_for(user) -> ComplaintAccess:
    role = policy.role_of(user)
    return ComplaintAccess(read=role in READERS, handle=role in HANDLERS,
                           file=policy.may_see_clients(user))


class ComplaintStateError(Exception):
    """The complaint is not in a state that allows this step (e.g. already resolved)."""


def due_days() -> int:
    return getattr(settings, "COMPLAINT_DUE_DAYS", 15)


def handlers() -> QuerySet:
    """The active staff who may be given a complaint to handle."""
    return (get_user_model().objects.filter(is_active=True, staff__role__in=HANDLERS)
            .select_related("staff").order_by("staff__display_name", "username"))


def _label(user) -> str:
    return user.get_username()


@transaction.atomic
def file(*, category: str, channel: str, description: str, client: Client | None = None,
         actor=None, subject_id: uuid.UUID | None = None) -> Complaint:
    """Record a complaint received now, due `COMPLAINT_DUE_DAYS` days later.

    The caller has opened a scope that may write L3 for the complaint's subject: the
    client's (`client.pk`) or, with no client, `subject_id`, a fresh id the caller chose
    and opened. Staff (`actor` given) open it with `door.open_case_file(action=
    COMPLAINT_OPEN)`, whose event is the record of the filing. The client's own page
    (`actor` None) has opened the client's record for the client; the filing is then
    recorded here, as the client.
    """
    description = (description or "").strip()
    if not description:
        raise ValidationError({"description": _("Write what the complaint is about.")})
    if category not in Complaint.Category.values or channel not in Channel.values:
        raise ValidationError(_("Unknown category or channel."))
    if actor is None and client is None:
        raise ValueError("a complaint from the client's own page names the client")
    received_at = timezone.now()
    complaint = Complaint(
        category=category, channel=channel, received_at=received_at, received_by=actor,
        due_on=timezone.localdate(received_at) + dt.timedelta(days=due_days()))
    if client is not None:
        complaint.subject_id = complaint.client_id = client.pk
        complaint.client_code = client.code
    elif subject_id is not None:
        complaint.subject_id = subject_id
    complaint.description = description
    complaint.save()
    if actor is None:
        audit.record(actor=None, actor_label=f"client:{client.code}", role="client",
                     action=actions.COMPLAINT_OPEN, outcome="allowed", client_id=client.pk,
                     client_code=client.code, location_code=client.location.code,
                     data_class=DataClass.L3, purpose=actions.CLIENT_SELF_SERVICE,
                     detail=audit_facts(complaint))
    return complaint


def audit_facts(complaint: Complaint) -> dict:
    # Ids and categories only: never what was written.
    return {"complaint": str(complaint.pk), "category": complaint.category,
            "channel": complaint.channel}


def _require_open(complaint: Complaint, step: str) -> None:
    # The row's state read under a lock, so two people resolving at once cannot both win.
    state = (Complaint.objects.select_for_update().filter(pk=complaint.pk)
             .values_list("state", flat=True).first())
    if state != Complaint.State.OPEN:
        raise ComplaintStateError(f"complaint {complaint.pk} is {state}: cannot {step}")


@transaction.atomic
def assign(complaint: Complaint, *, handler, actor) -> Complaint:
    """Give an open complaint to an owner or a manager to handle (no text is opened)."""
    _require_open(complaint, "assign")
    if not handlers().filter(pk=handler.pk).exists():
        raise ValidationError({"handler": _("Only an active owner or manager can handle a "
                                            "complaint.")})
    complaint.handler = handler
    complaint.save(update_fields=["handler"])
    audit.record(actor=actor, actor_label=_label(actor), role=policy.role_of(actor),
                 action=actions.COMPLAINT_STEP, outcome="allowed",
                 client_id=complaint.client_id, client_code=complaint.client_code,
                 purpose=actions.HANDLE_COMPLAINT,
                 detail=audit_facts(complaint) | {"step": "assign", "handler": handler.pk})
    return complaint


@transaction.atomic
def resolve(complaint: Complaint, *, resolution: str, actor) -> Complaint:
    """Close an open complaint with what was done about it.

    The caller has opened the complaint with `door.open_case_file(action=COMPLAINT_STEP)`
    and the step named in its detail: that event is the record of the resolution."""
    resolution = (resolution or "").strip()
    if not resolution:
        raise ValidationError({"resolution": _("Write how the complaint was resolved.")})
    _require_open(complaint, "resolve")
    complaint.resolution = resolution
    complaint.state = Complaint.State.RESOLVED
    complaint.resolved_at = timezone.now()
    complaint.resolved_by = actor
    complaint.handler = complaint.handler or actor
    complaint.save(update_fields=["resolution", "state", "resolved_at", "resolved_by",
                                  "handler"])
    return complaint


def open_complaints() -> QuerySet[Complaint]:
    return Complaint.objects.filter(state=Complaint.State.OPEN)


def overdue(*, today: dt.date | None = None) -> QuerySet[Complaint]:
    """Open complaints past their due day."""
    return open_complaints().filter(due_on__lt=today or timezone.localdate())


def month_bounds(year: int, month: int) -> tuple[dt.datetime, dt.datetime]:
    """The month's first instant and the next month's, in the salon's time zone."""
    first = dt.date(year, month, 1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    zone = timezone.get_current_timezone()
    return (dt.datetime.combine(first, dt.time(), tzinfo=zone),
            dt.datetime.combine(following, dt.time(), tzinfo=zone))


SUMMARY_COLUMNS = ("received", "resolved", "resolved_on_time", "open", "overdue",
                   "median_days")


def monthly_summary(year: int, month: int, *, today: dt.date | None = None) -> dict:
    """The complaints received in one month, per category and in total: how many were
    received, resolved (within the deadline), are still open (past it), and the median
    days to resolve. States are as of `today`."""
    today = today or timezone.localdate()
    start, end = month_bounds(year, month)
    rows = list(Complaint.objects.filter(received_at__gte=start, received_at__lt=end)
                .values("category", "state", "due_on", "received_at", "resolved_at"))
    categories = [{"category": value, "label": label}
                  | _counts([r for r in rows if r["category"] == value], today)
                  for value, label in Complaint.Category.choices]
    return {"year": year, "month": month, "start": start.date(), "categories": categories,
            "total": _counts(rows, today)}


def _counts(rows: list[dict], today: dt.date) -> dict:
    resolved = [r for r in rows if r["state"] == Complaint.State.RESOLVED and r["resolved_at"]]
    still_open = [r for r in rows if r["state"] == Complaint.State.OPEN]
    days = [(r["resolved_at"] - r["received_at"]).total_seconds() / 86400 for r in resolved]
    return {
        "received": len(rows),
        "resolved": len(resolved),
        "resolved_on_time": sum(timezone.localdate(r["resolved_at"]) <= r["due_on"]
                                for r in resolved),
        "open": len(still_open),
        "overdue": sum(r["due_on"] < today for r in still_open),
        "median_days": round(statistics.median(days), 1) if days else None,
    }
