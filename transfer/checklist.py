"""The NDA checklist of a transfer case: default items that owners extend, and entries
that are only ever added. An item is done when its latest entry says so; a correction
(a wrong file, a step undone) is a new entry, and the history stays.

Two items are checked against the case as well as ticked: "notices sent" needs the
notices exported, and "objection window elapsed" needs the window's last day passed.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

import audit.services as audit
from access import door
from audit import actions

from . import cases
from .cases import StepRefused
from .models import (
    ChecklistEntry,
    ChecklistItem,
    ChecklistTemplateItem,
    Notice,
    State,
    TransferCase,
)

DEFAULTS = (
    ("nda", gettext_lazy("NDA signed with the recipient (the signed file; its SHA-256 is "
                         "kept)")),
    ("questionnaire", gettext_lazy("Recipient's security questionnaire answered")),
    ("lawyer", gettext_lazy("Lawyer's review of the sale and the transfer")),
    ("pia", gettext_lazy("Privacy impact assessment recorded")),
    ("notices", gettext_lazy("Notices sent to the clients")),
    ("objection_window", gettext_lazy("Objection window elapsed")),
    ("minimised", gettext_lazy("Scope minimised to what the new owner needs")),
)
DEFAULT_LABELS = dict(DEFAULTS)
EVIDENCE_MAX_BYTES = 20 * 1024 * 1024
# Items that need a file as evidence.
NEEDS_FILE = {"nda"}
# Open while the case is in these states, whatever is ticked.
EDITABLE = (State.DRAFT, State.CHECKLIST, State.NOTICE, State.APPROVAL)


def label(item: ChecklistItem) -> str:
    return str(DEFAULT_LABELS.get(item.key, item.label))


def add_defaults(case: TransferCase) -> None:
    """The defaults, then the items the owners added to the template, in their order."""
    items = [ChecklistItem(case=case, key=key, position=n)
             for n, (key, _label) in enumerate(DEFAULTS)]
    items += [ChecklistItem(case=case, key=f"template-{n}", label=extra.label,
                            position=len(DEFAULTS) + n)
              for n, extra in enumerate(ChecklistTemplateItem.objects.filter(active=True), 1)]
    ChecklistItem.objects.bulk_create(items)


def template_add(*, actor, text: str) -> ChecklistTemplateItem:
    text = " ".join(text.split())[:300]
    if not text:
        raise StepRefused(_("Write the item."))
    top = ChecklistTemplateItem.objects.aggregate(top=Max("position"))["top"] or 0
    with transaction.atomic():
        item = ChecklistTemplateItem.objects.create(label=text, position=top + 1,
                                                    added_by=actor)
        _template_event(actor, added=str(item.pk))
    return item


def template_remove(item_id, *, actor) -> None:
    with transaction.atomic():
        if ChecklistTemplateItem.objects.filter(pk=item_id, active=True).update(active=False):
            _template_event(actor, removed=str(item_id))


def _template_event(actor, **detail) -> None:
    audit.record(actor=actor, actor_label=actor.get_username(), role="owner",
                 action=actions.TRANSFER_CHECKLIST, outcome="allowed",
                 purpose=actions.TRANSFER_BUSINESS, detail={"template": True, **detail})


def add_item(case: TransferCase, *, actor, text: str) -> ChecklistItem:
    text = " ".join(text.split())[:300]
    if not text:
        raise StepRefused(_("Write the item."))
    if case.state not in EDITABLE:
        raise StepRefused(_("The checklist is closed once the package is built."))
    with transaction.atomic():
        top = ChecklistItem.objects.filter(case=case).aggregate(top=Max("position"))["top"] or 0
        item = ChecklistItem.objects.create(
            case=case, key=f"added-{ChecklistItem.objects.filter(case=case).count() + 1}",
            label=text, position=top + 1, added_by=actor)
        cases.event(case, actor, actions.TRANSFER_CHECKLIST, item=item.key, added=True)
    return item


def latest(case: TransferCase) -> dict:
    """Each item's latest entry (None: nothing recorded yet)."""
    found = {item.pk: None for item in ChecklistItem.objects.filter(case=case)}
    for entry in ChecklistEntry.objects.filter(case=case).order_by("at"):
        found[entry.item_id] = entry
    return found


def open_items(case: TransferCase) -> list[ChecklistItem]:
    now = latest(case)
    return [item for item in ChecklistItem.objects.filter(case=case)
            if now[item.pk] is None or now[item.pk].status != ChecklistEntry.Status.DONE]


def record(case: TransferCase, item: ChecklistItem, *, actor, status: str, note: str = "",
           evidence=None, today: dt.date | None = None) -> ChecklistEntry:
    """Add an entry to an item: done (with a note, and a file where the item needs one) or
    reopened (a correction, with a note saying why). The note and file are sealed."""
    today = today or timezone.localdate()
    note = (note or "").strip()[:2000]
    if item.case_id != case.pk:
        raise StepRefused(_("This item belongs to another case."))
    if case.state not in EDITABLE:
        raise StepRefused(_("The checklist is closed once the package is built."))
    if status not in ChecklistEntry.Status.values:
        raise StepRefused(_("Say whether the item is done or reopened."))
    if status == ChecklistEntry.Status.REOPENED and not note:
        raise StepRefused(_("Say why the item is reopened."))
    data, name = b"", ""
    if evidence is not None:
        if evidence.size > EVIDENCE_MAX_BYTES:
            raise StepRefused(_("The file is larger than 20 MB."))
        data, name = evidence.read(), evidence.name[-200:]
    if status == ChecklistEntry.Status.DONE:
        if item.key in NEEDS_FILE and not data:
            raise StepRefused(_("Attach the signed file."))
        if item.key == "notices" and not Notice.objects.filter(case=case).exists():
            raise StepRefused(_("Export the client notices first: they are the evidence."))
        if item.key == "objection_window" and (case.objection_until is None
                                               or today <= case.objection_until):
            raise StepRefused(_("The objection window is still open."))
    with transaction.atomic(), door.open_case_file(
            user=actor, subjects=[case.pk], purpose=actions.TRANSFER_BUSINESS,
            action=actions.TRANSFER_CHECKLIST, detail={"case": str(case.pk), "item": item.key,
                                                       "status": status}):
        entry = ChecklistEntry.objects.create(
            case=case, item=item, status=status, at=timezone.now(), by=actor,
            note=note or None, evidence=data or "", evidence_name=name,
            evidence_sha256=hashlib.sha256(data).hexdigest() if data else "",
            evidence_bytes=len(data))
    return entry


def evidence_of(entry: ChecklistEntry, *, actor) -> bytes:
    """The evidence file, opened for an owner or auditor, recorded."""
    with door.open_case_file(user=actor, subjects=[entry.case_id],
                             purpose=actions.TRANSFER_BUSINESS, action=actions.TRANSFER_EVIDENCE,
                             detail={"case": str(entry.case_id), "entry": str(entry.pk)}):
        entry = ChecklistEntry.objects.get(pk=entry.pk)
        return entry.evidence.read()


def notes(case: TransferCase, *, actor) -> dict:
    """Each entry's note, opened for the case page, recorded."""
    with door.open_case_file(user=actor, subjects=[case.pk], purpose=actions.TRANSFER_BUSINESS,
                             action=actions.TRANSFER_EVIDENCE,
                             detail={"case": str(case.pk), "notes": True}):
        return {e.pk: e.note for e in ChecklistEntry.objects.filter(case=case)}
