"""`manage.py restore_check --head SEQ --sample N`: the checks of a restore drill, run
against a restored copy (the drill points DATABASE_URL and the rest at it). Prints one
line of JSON: the audit chain's verdict and what a sample of records gave."""

from __future__ import annotations

import json
import random

from django.core.management.base import BaseCommand

from access import door
from audit import actions, checkpoints, integrity
from records.models import Client, ClientForm, HealthNote, Photo, Treatment
from vault.errors import IntegrityError, ShreddedError
from vault.fields import EncryptedField


class Command(BaseCommand):
    help = "Checks of a restored copy, for the restore drill (prints JSON)."

    def add_arguments(self, parser):
        parser.add_argument("--head", type=int, required=True,
                            help="the backup's audit head: checkpoints up to it must agree")
        parser.add_argument("--sample", type=int, default=25)

    def handle(self, *args, **options):
        verdict = checkpoints.check(integrity._verify_links(full=True, workers=1),
                                    every=True, up_to=options["head"])
        ids = list(Client.objects.values_list("pk", flat=True))
        chosen = random.Random().sample(ids, min(options["sample"], len(ids)))  # noqa: S311
        opened, values, files, unreadable, shredded = 0, 0, 0, [], 0
        with door.open_for_system(actor="restore-drill", purpose=actions.RESTORE_DRILL,
                                  subjects=chosen):
            for pk in chosen:
                try:
                    v, f = _read_everything(pk)
                except ShreddedError:
                    shredded += 1
                    continue
                except (IntegrityError, OSError) as exc:
                    unreadable.append(f"{pk}: {type(exc).__name__}")
                    continue
                opened += 1
                values += v
                files += f
        self.stdout.write(json.dumps({
            "chain_ok": verdict.ok, "chain_events": verdict.checked,
            "chain_message": "" if verdict.ok else verdict.message,
            "checkpoints_agreeing": getattr(verdict, "checkpoints", 0),
            "clients": len(ids), "sampled": len(chosen), "opened": opened,
            "values": values, "files": files, "shredded": shredded,
            "unreadable": unreadable}))


def _read_everything(pk) -> tuple[int, int]:
    values = files = 0
    rows = [Client.objects.get(pk=pk), *HealthNote.objects.filter(client_id=pk),
            *Treatment.objects.filter(client_id=pk)]
    for row in rows:
        for field in row._meta.concrete_fields:
            if isinstance(field, EncryptedField) and getattr(row, field.name) is not None:
                values += 1
    for row in [*Photo.objects.filter(client_id=pk), *ClientForm.objects.filter(client_id=pk)]:
        for name in ("image", "document"):
            if (stored := getattr(row, name, None)) is not None:
                stored.read()
                files += 1
    return values, files
