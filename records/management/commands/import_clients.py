"""manage.py import_clients FILE --location CODE [--dry-run]: the upload page's import, from a shell."""

from __future__ import annotations

import getpass

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from access.models import Location
from records import importing


def _operator() -> str:
    try:
        name = getpass.getuser()
    except (OSError, KeyError):  # no login name in some containers
        name = "unknown"
    return f"command line ({name})"


class Command(BaseCommand):
    help = ("Import clients from a .csv or .xlsx spreadsheet into one location, all or nothing. "
            "Problems are listed by line and nothing is imported; the exit status is then 1.")

    def add_arguments(self, parser):
        parser.add_argument("file", help="the .csv or .xlsx file")
        parser.add_argument("--location", required=True, help="code of the location to import into")
        parser.add_argument("--dry-run", action="store_true",
                            help="check the file and count the clients without writing anything")

    def handle(self, *args, file: str, location: str, dry_run: bool, **options):
        place = Location.objects.filter(code=location).first()
        if place is None:
            raise CommandError(_("There is no location with the code %(code)s.") % {"code": location})
        result = self._import(file, place, dry_run)
        if result.ignored_columns:
            self.stdout.write(_("Columns ignored: %(columns)s")
                              % {"columns": ", ".join(result.ignored_columns)})
        if not result.ok:
            for error in result.errors:
                self.stderr.write(_("line %(line)d, %(column)s: %(message)s") % error._asdict())
            raise CommandError(_("%(count)d problems found; nothing was imported.")
                               % {"count": len(result.errors)})
        self.stdout.write(self.style.SUCCESS(self._summary(result)))

    def _import(self, path: str, place: Location, dry_run: bool) -> importing.ImportResult:
        try:
            with open(path, "rb") as upload:
                return importing.clients_import(upload=upload, location=place,
                                                username=_operator(), dry_run=dry_run)
        except OSError as exc:
            raise CommandError(_("The file cannot be read: %(reason)s")
                               % {"reason": exc.strerror or exc}) from None
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None

    @staticmethod
    def _summary(result: importing.ImportResult) -> str:
        counts = {"created": result.created, "skipped": result.skipped}
        if result.dry_run:
            return _("Dry run: %(created)d clients would be created, %(skipped)d are already "
                     "present. Nothing was written.") % counts
        return _("%(created)d clients created, %(skipped)d already present and skipped.") % counts
