"""manage.py import_clients FILE --location CODE [--update] [--dry-run]: the upload page's
import, from a shell. --dry-run is the preview: every line and what would happen to it."""

from __future__ import annotations

import getpass

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N_

from access.models import Location
from records import importing

OUTCOMES = {"new": N_("new client"), "changed": N_("changed"), "unchanged": N_("unchanged"),
            "skipped": N_("skipped")}


def _operator() -> str:
    try:
        name = getpass.getuser()
    except (OSError, KeyError):  # no login name in some containers
        name = "unknown"
    return f"command line ({name})"


class Command(BaseCommand):
    help = ("Import clients from a .csv or .xlsx spreadsheet into one location, all or nothing. "
            "Every line that matches a client already present is reported as changed (which "
            "fields), unchanged or skipped (why). Problems are listed by line and nothing is "
            "imported; the exit status is then 1.")

    def add_arguments(self, parser):
        parser.add_argument("file", help="the .csv or .xlsx file")
        parser.add_argument("--location", required=True, help="code of the location to import into")
        parser.add_argument("--update", action="store_true",
                            help="update clients already present whose line differs (empty "
                                 "cells never erase anything)")
        parser.add_argument("--dry-run", action="store_true",
                            help="show what the import would do, line by line, without writing")

    def handle(self, *args, file: str, location: str, dry_run: bool, update: bool, **options):
        place = Location.objects.filter(code=location).first()
        if place is None:
            raise CommandError(_("There is no location with the code %(code)s.") % {"code": location})
        result = self._import(file, place, dry_run, update)
        if result.ignored_columns:
            self.stdout.write(_("Columns ignored: %(columns)s")
                              % {"columns": ", ".join(result.ignored_columns)})
        if not result.ok:
            for error in result.errors:
                self.stderr.write(_("line %(line)d, %(column)s: %(message)s") % error._asdict())
            raise CommandError(_("%(count)d problems found; nothing was imported.")
                               % {"count": len(result.errors)})
        for line in result.report:
            if line.outcome != "new" or dry_run:
                self.stdout.write(self._line(line))
        self.stdout.write(self.style.SUCCESS(self._summary(result)))

    def _import(self, path: str, place: Location, dry_run: bool,
                update: bool) -> importing.ImportResult:
        try:
            with open(path, "rb") as upload:
                return importing.clients_import(upload=upload, location=place, update=update,
                                                username=_operator(), dry_run=dry_run)
        except OSError as exc:
            raise CommandError(_("The file cannot be read: %(reason)s")
                               % {"reason": exc.strerror or exc}) from None
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None

    @staticmethod
    def _line(line: importing.ReportLine) -> str:
        parts = [_("line %(line)d: %(outcome)s") % {"line": line.line,
                                                    "outcome": _(OUTCOMES[line.outcome])}]
        if line.code:
            parts.append(line.code)
        if line.fields:
            parts.append(_("fields: %(fields)s") % {"fields": ", ".join(line.fields)})
        if line.reason:
            parts.append(line.reason)
        return " — ".join(parts)

    @staticmethod
    def _summary(result: importing.ImportResult) -> str:
        counts = {"created": result.created, "skipped": result.skipped,
                  "updated": result.updated, "unchanged": result.unchanged,
                  "different": result.not_updated}
        if result.dry_run:
            text = _("Dry run: %(created)d clients would be created, %(updated)d updated; "
                     "%(skipped)d are already present (%(unchanged)d unchanged, %(different)d "
                     "different and not to be updated). Nothing was written.") % counts
        else:
            text = _("%(created)d clients created, %(updated)d updated, %(skipped)d already "
                     "present and skipped (%(unchanged)d unchanged, %(different)d different "
                     "and not updated).") % counts
        return text
