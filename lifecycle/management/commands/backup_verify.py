"""`manage.py backup_verify ID`: is the backup whole, unchanged and ours?"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from lifecycle.backups import verify


class Command(BaseCommand):
    help = ("Check a backup without opening it: the manifest's signature (this deployment's "
            "key, or --public-key), then every part's size and SHA-256. Exits non-zero and "
            "names each part that was changed, cut short or is missing.")

    def add_arguments(self, parser):
        parser.add_argument("backup_id")
        parser.add_argument("--public-key", help="verify with this Ed25519 public key (base64)")

    def handle(self, *args, **options):
        report = verify.verify(options["backup_id"], public_key=options["public_key"])
        if not report.ok:
            for problem in report.problems:
                self.stderr.write(problem)
            raise CommandError(f"backup {report.backup_id} failed verification: "
                               f"{report.problems[0]}")
        self.stdout.write(self.style.SUCCESS(
            f"backup {report.backup_id} verified: signed by this deployment, "
            f"{report.parts} parts whole and unchanged"))
