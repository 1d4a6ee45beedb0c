"""`manage.py backup_list`: the backups in the backup storage, newest last."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from lifecycle.backups import archive, store


class Command(BaseCommand):
    help = "List the backups (id, time, rows, files, size); verify one with backup_verify ID."

    def handle(self, *args, **options):
        ids = store.ids()
        if not ids:
            self.stdout.write("no backups")
            return
        self.stdout.write(f"{'id':<24}  {'created (UTC)':<20}  {'rows':>10}  {'files':>7}  {'MB':>8}")
        for backup_id in ids:
            with store.storage().open(store.path(backup_id, archive.MANIFEST), "rb") as fh:
                manifest = json.loads(fh.read())
            parts = manifest["parts"]
            self.stdout.write(
                f"{backup_id:<24}  {store.created_at(backup_id):%Y-%m-%d %H:%M:%S}  "
                f"{sum(p.get('rows', 0) for p in parts):>10}  "
                f"{sum(p.get('files', 0) for p in parts):>7}  "
                f"{sum(p['bytes'] for p in parts) / 1e6:>8.1f}")
