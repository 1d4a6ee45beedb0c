"""`manage.py backup_restore ID`: a backup back into databases given by URL, or in place."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from lifecycle.backups import restore
from vault.errors import KeyringError


class Command(BaseCommand):
    help = ("Restore a backup. With --database-url and --vault-database-url (and --files-dir) "
            "into those empty databases and that folder, this salon untouched; without them "
            "in place, over this salon's databases and files, only with --confirm. The backup "
            "is verified first; clients destroyed since it was made stay unreadable.")

    def add_arguments(self, parser):
        parser.add_argument("backup_id")
        parser.add_argument("--database-url", help="the records database to restore into")
        parser.add_argument("--vault-database-url", help="the key store database to restore into")
        parser.add_argument("--files-dir", help="where the encrypted files go (with --database-url)")
        parser.add_argument("--confirm", action="store_true",
                            help="replace this salon's data with the backup's (in place)")
        parser.add_argument("--into-empty", action="store_true", help=_HIDDEN)
        parser.add_argument("--ledger-file", help=_HIDDEN)

    def handle(self, *args, **options):
        backup_id = options["backup_id"]
        if options["database_url"] or options["vault_database_url"]:
            return self._elsewhere(backup_id, options)
        if not (options["confirm"] or options["into_empty"]):
            raise CommandError("an in-place restore replaces every record, key and file of this "
                               "salon with the backup's: add --confirm, or restore elsewhere "
                               "with --database-url and --vault-database-url")
        ledger = _read_ledger(options["ledger_file"])
        try:
            done = restore.restore(backup_id, wipe=options["confirm"], ledger=ledger,
                                   progress=self._progress)
        except (restore.RestoreRefused, KeyringError) as exc:
            raise CommandError(str(exc)) from None
        self._report(done)
        if not options["confirm"]:
            # A copy elsewhere is not the salon: opening a checkpoint era here would excuse
            # the live salon's chain, so the salon's checkpoints are left as they are.
            self.stdout.write("this copy is not the salon: the salon's checkpoints are left as "
                              "they are (to make a backup the salon, restore in place with "
                              "--confirm)")
        self.stdout.write(self.style.SUCCESS(f"restored backup {done.backup_id}"))
        return None

    def _progress(self, done: int, total: int) -> None:
        if done == total or done % 10 == 0:
            self.stdout.write(f"restored {done} / {total} parts")

    def _elsewhere(self, backup_id: str, options) -> None:
        if not (options["database_url"] and options["vault_database_url"] and options["files_dir"]):
            raise CommandError("a restore elsewhere needs --database-url, --vault-database-url "
                               "and --files-dir")
        from vault.models import ShredRecord

        with tempfile.NamedTemporaryFile("w", suffix=".ledger", delete=False) as fh:
            fh.writelines(f"{s}\n" for s in ShredRecord.objects.values_list("subject_id", flat=True))
            ledger = fh.name
        env = {**os.environ, "DATABASE_URL": options["database_url"],
               "VAULT_DATABASE_URL": options["vault_database_url"],
               "VAULT_FILES_ROOT": str(Path(options["files_dir"]).resolve()),
               "SALON_VAULT_KEYRING": str(settings.SALON_VAULT_KEYRING),
               "SALON_VAULT_VAR": str(settings.VAR_DIR)}
        try:
            done = subprocess.run(  # noqa: S603 - this program, with its own arguments
                [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "backup_restore",
                 backup_id, "--into-empty", "--ledger-file", ledger], env=env, check=False,
                capture_output=True, text=True)
        finally:
            os.unlink(ledger)
        self.stdout.write(done.stdout.rstrip("\n"))
        if done.returncode:
            said = [line for line in done.stderr.splitlines() if line.strip()]
            self.stderr.write(done.stderr.rstrip("\n"))
            raise CommandError(said[-1].removeprefix("CommandError: ") if said else
                               f"backup {backup_id} was not restored")

    def _report(self, done: restore.Restored) -> None:
        self.stdout.write(f"{done.tables} tables, {done.rows} rows and {done.files} files "
                          f"restored in {done.seconds:.1f} s")
        if done.shredded_since:
            self.stdout.write(f"{len(done.shredded_since)} clients destroyed after the backup "
                              f"stay unreadable: {', '.join(done.shredded_since)} "
                              f"({done.keys_destroyed} data keys destroyed again)")
        else:
            self.stdout.write("no client was destroyed after the backup")
        self.stdout.write(f"audit chain restored to event {done.audit_head}; the restore is "
                          "its next event" + (f"; it rolls back past checkpoint "
                                              f"{done.rolled_back_past}"
                                              if done.rolled_back_past else ""))


_HIDDEN = "(used by the command itself)"


def _read_ledger(path: str | None) -> list[uuid.UUID]:
    if not path:
        return []
    return [uuid.UUID(line.strip()) for line in Path(path).read_text().splitlines() if line.strip()]
