"""`manage.py backup_create`: a backup now, as the nightly job makes it; its id last."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from lifecycle import jobs
from lifecycle.models import JobRun
from vault.errors import KeyringError


class Command(BaseCommand):
    help = ("Back up both databases (as ciphertext, never decrypted) and the encrypted files "
            "into the backup storage (var/backups by default), encrypted with age and listed "
            "in a manifest signed by this deployment; then keep the daily/weekly/monthly "
            "backups the policy keeps. Prints the new backup's id as its last line.")

    def handle(self, *args, **options):
        try:
            run = jobs.create_run("backup", trigger=JobRun.Trigger.COMMAND)
        except jobs.JobBusy as busy:
            raise CommandError(f"a backup is already running (run {busy.run.pk})") from None
        try:
            run = jobs.execute(run.pk)
        except KeyringError as exc:
            raise CommandError(str(exc)) from None
        except Exception as exc:
            raise CommandError(f"the backup failed ({type(exc).__name__}: {exc}); nothing "
                               "was listed, and the next run removes what it wrote") from exc
        s = run.summary
        for unfinished in s["removed_unfinished"]:
            self.stdout.write(f"removed unfinished backup {unfinished}")
        for old in s["pruned"]:
            self.stdout.write(f"removed {old} (past the retention policy)")
        self.stdout.write(f"{s['parts']} parts, {s['rows']} rows, {s['files']} files, "
                          f"{s['bytes'] / 1e6:.1f} MB")
        self.stdout.write(s["backup"])
