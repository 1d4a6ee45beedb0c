"""Running an import: read and check the file, leave out the columns above the importer's
ceiling, plan it (new, changed, unchanged, skipped), and write it in batches under one
recorded opening. `clients_import` runs it all."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from access import door
from access.models import Location
from audit import actions
from records.maintenance import LARGE_WRITE, refresh_statistics
from vault.classes import DataClass

from ..models import Client
from ..services import ALL_FIELDS, next_client_codes
from . import batches
from .checking import RowError, check_rows
from .columns import LABELS
from .planning import CHANGED, NEW, SKIPPED, UNCHANGED, Plan, RowPlan, compare, match_rows
from .reading import Sheet, _is_blank, parse_spreadsheet, read_upload

# The package's name, as when this was one module: log settings may name it.
log = logging.getLogger("records.importing")


class PlanChanged(ValidationError):
    """The clients changed between the preview and the confirmation: nothing was written."""


@dataclass(frozen=True)
class ReportLine:
    """What happens to one line of the file. Field labels and client codes, never values."""

    line: int
    outcome: str
    code: str = ""
    fields: tuple[str, ...] = ()
    reason: str = ""
    applied: bool = False


@dataclass
class ImportResult:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    not_updated: int = 0  # changed rows of an import that does not update
    ambiguous: int = 0  # rows skipped because they match more than one client, or one twice
    unread_lines: tuple[int, ...] = ()  # lines with values in ignored columns only
    errors: list[RowError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    left_out_columns: list[str] = field(default_factory=list)  # above the importer's ceiling
    report: list[ReportLine] = field(default_factory=list)
    dry_run: bool = False
    update: bool = False
    digest: str = ""

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def skipped(self) -> int:
        """Rows not written: already present (changed or not) or not to be told apart."""
        return self.unchanged + self.not_updated + self.ambiguous + len(self.unread_lines)

    @property
    def counts(self) -> dict[str, int]:
        return {"rows": self.rows, "created": self.created, "updated": self.updated,
                "unchanged": self.unchanged, "not_updated": self.not_updated,
                "skipped": self.ambiguous + len(self.unread_lines)}

    def take(self, plan: Plan) -> None:
        self.created = len(plan.of(NEW))
        changed = len(plan.of(CHANGED))
        self.updated, self.not_updated = (changed, 0) if plan.update else (0, changed)
        self.unchanged, self.ambiguous = len(plan.of(UNCHANGED)), len(plan.of(SKIPPED))
        unread = _("Values only in columns that are not imported.")
        self.report = sorted([_report_line(row, plan.update) for row in plan.rows]
                             + [ReportLine(line, SKIPPED, reason=unread)
                                for line in self.unread_lines], key=lambda r: r.line)
        self.digest = plan.digest


def _report_line(row: RowPlan, update: bool) -> ReportLine:
    reason = row.reason
    if row.outcome == CHANGED and not update:
        reason = _("Already present and different: not updated, as updating was not chosen.")
    elif row.outcome == UNCHANGED:
        reason = _("Already present with the same values.")
    return ReportLine(row.line, row.outcome, row.code,
                      tuple(str(LABELS.get(n, n)) for n in row.changed), reason,
                      applied=row.outcome == NEW or (row.outcome == CHANGED and update))


def _leave_out(user, location: Location, sheet: Sheet) -> tuple[Sheet, list[str]]:
    """A user imports only what they could write by hand.

    Columns above their ceiling (a manager and the health notes) are left out of every row,
    and named on the preview and in the result: the rest of the file is imported. The
    other choice, refusing the file, would leave a manager with a sheet to cut by hand; the
    owner can bring the left-out columns in later by importing the file with updating on.
    """
    ceiling = DataClass.L4 if user is None else door.ceiling_for_new_client(user, location)
    beyond = sorted({name for _line, row in sheet.rows for name, value in row.items()
                     if ALL_FIELDS.get(name, 0) > ceiling and not _is_blank(value)})
    rows = [(line, {n: v for n, v in row.items() if ALL_FIELDS.get(n, 0) <= ceiling})
            for line, row in sheet.rows]
    return (Sheet(rows, sheet.ignored_columns, sheet.unread_lines),
            [str(LABELS.get(n, n)) for n in beyond])


def _comparer(user, username: str):
    """The opening of a preview, in which matched clients are read to tell changed from
    unchanged. (A real import reads them inside its own opening.)"""
    def opener(ids: list[uuid.UUID], want: int):
        if user is None:
            return door.open_for_system(
                actor="import", subjects=ids, ceiling=want, purpose=actions.PREVIEW_IMPORT,
                detail={"step": "preview", "by": username, "clients": len(ids)})
        return door.open_clients(user=user, clients=list(_clients(ids)), want=want,
                                 purpose=actions.PREVIEW_IMPORT,
                                 action=actions.CLIENT_IMPORT, detail={"step": "preview"})
    return opener


def _clients(ids):
    return Client.objects.filter(pk__in=ids).select_related("location")


def _writing(*, user, location: Location, ids: list[uuid.UUID], want: int, username: str,
             counts: dict[str, int]):
    """The one recorded opening of an import, with the counts known before any value is
    read: every line's fate is in the result and the preview, never in the audit trail.

    It covers the matched clients too. The door decides by the importer's ceiling for a
    client of the location; for owners and managers, the only importers, that is their
    ceiling for every client there as well (it depends on no assignment or grant)."""
    if user is None:  # the command line: a named system job
        return door.open_for_system(actor="import", subjects=ids, create=True,
                                    purpose=actions.IMPORT_CLIENTS,
                                    detail={"step": "write", "by": username} | counts)
    return door.open_new_clients(user=user, location=location, subjects=ids, want=want,
                                 purpose=actions.IMPORT_CLIENTS,
                                 detail={"step": "write"} | counts)


def _read_class(plan: Plan) -> int:
    names = {n for row in plan.rows if row.outcome != SKIPPED for n in row.data}
    return max((ALL_FIELDS[n] for n in names), default=DataClass.L2)


@contextmanager
def _all_or_nothing() -> Iterator[batches.Progress]:
    progress = batches.Progress()
    try:
        yield progress
    except BaseException:
        batches.undo(progress)
        raise


def _already_open(ids, want):
    return nullcontext()


def _check_expected(plan: Plan, result: ImportResult, expected: str | None) -> None:
    if expected is not None and plan.digest != expected:
        changed = PlanChanged(_("The clients changed since the preview: check the new "
                                "preview and confirm again. Nothing was written."))
        changed.result = result  # the new preview
        raise changed


def _run(plan: Plan, result: ImportResult, *, location: Location, user, username: str,
         expected: str | None) -> None:
    """Compare and write under one opening; batches of new clients, then of updates."""
    new = plan.of(NEW)
    ids = [uuid.uuid4() for _row in new]
    counts = {"rows": result.rows, "new": len(new), "matched": len(plan.matched),
              "skipped": len(plan.of(SKIPPED)) + len(result.unread_lines), "update": int(plan.update)}
    with _writing(user=user, location=location, ids=ids + [r.client_id for r in plan.matched],
                  want=_read_class(plan), username=username, counts=counts):
        result.take(compare(plan, _already_open))
        _check_expected(plan, result, expected)
        with _all_or_nothing() as progress:
            codes = next_client_codes(location, len(new)) if new else []
            for batch in batches.chunks(list(zip(ids, codes, new, strict=True))):
                batches.create_batch(location, batch, progress)
            for batch in batches.chunks(plan.of(CHANGED) if plan.update else []):
                batches.update_batch(batch, progress)


def clients_import(*, upload, location: Location, username: str, user=None,
                   dry_run: bool = False, update: bool = False,
                   expected: str | None = None) -> ImportResult:
    """Import the clients of one spreadsheet into `location`, all or nothing.

    Raises ValidationError when the file as a whole cannot be read (type, size, encoding,
    no name column, too many rows), and PlanChanged when `expected` (the digest of a
    preview) no longer matches what the import would do. Otherwise returns an ImportResult:
    with errors nothing was written; without, every line is reported as new, changed,
    unchanged or skipped, and, unless `dry_run`, the new clients were created and, with
    `update`, the changed ones updated. Parsing, checking and planning happen before any
    write; the writes go in short transactions and are taken back if one fails.
    `username` goes into the audit purpose of a command-line import.
    """
    sheet = parse_spreadsheet(data=read_upload(upload), filename=getattr(upload, "name", ""))
    sheet, left_out = _leave_out(user, location, sheet)
    rows, errors = check_rows(sheet.rows)
    result = ImportResult(rows=len(sheet.rows), errors=errors, ignored_columns=sheet.ignored_columns,
                          left_out_columns=left_out, dry_run=dry_run, update=update,
                          unread_lines=sheet.unread_lines)
    if errors:
        return result
    plan = match_rows(location=location, rows=rows, update=update)
    if dry_run:
        result.take(compare(plan, _comparer(user, username)))
        _check_expected(plan, result, expected)
    else:
        _run(plan, result, location=location, user=user, username=username, expected=expected)
        if result.created + result.updated >= LARGE_WRITE:
            refresh_statistics()
    log.info("client import into %s by %s: %s%s", location.code, username, result.counts,
             " (dry run)" if dry_run else "")
    return result
