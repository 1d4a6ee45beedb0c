"""`manage.py vault_rekey CLIENT`: a new data key for one client (suspected compromise)."""

from __future__ import annotations

import uuid

from django.core.management.base import BaseCommand, CommandError

from records import rekey
from records.models import Client
from vault.errors import ShreddedError


class Command(BaseCommand):
    help = ("Seal every encrypted value and file of one client again under a new data key, "
            "then destroy the old key. CLIENT is the client code or id. A stopped run "
            "resumes when run again.")

    def add_arguments(self, parser):
        parser.add_argument("client", help="client code (e.g. BJ-000123) or id")

    def handle(self, *args, **options):
        client = _client(options["client"])
        try:
            counts = rekey.client_rekey(client.pk)
        except ShreddedError:
            raise CommandError(f"{client.code} has been destroyed: it has no key to replace") from None
        self.stdout.write(f"{counts['rows']} rows, {counts['values']} values and "
                          f"{counts['files']} files sealed under data key generation "
                          f"{counts['generation']}")
        if counts["damaged"]:
            self.stderr.write(self.style.WARNING(
                f"{counts['damaged']} damaged values or files could not be read and were left"))
        self.stdout.write(self.style.SUCCESS(
            f"re-keyed {client.code}: old data key destroyed "
            f"({counts['retired_generations']} generation(s))"))


def _client(ref: str) -> Client:
    try:
        return Client.objects.get(code=ref)
    except Client.DoesNotExist:
        pass
    try:
        return Client.objects.get(pk=uuid.UUID(ref))
    except (ValueError, Client.DoesNotExist):
        raise CommandError(f"no client with code or id {ref!r}") from None
