"""`manage.py transfer_keygen --out DIR`: the buyer's key pair for a transfer package.
(Offline, without this project: `python transfer/package.py keygen --out DIR`.)"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from transfer import package


class Command(BaseCommand):
    help = ("Make an age key pair for receiving a transfer package: DIR/identity.txt (secret, "
            "mode 0600) and DIR/recipient.txt (the public key to give the seller). Never "
            "overwrites an identity.")

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, help="directory for the key files")

    def handle(self, *args, **options):
        try:
            identity_path, recipient_path, recipient = package.write_keypair(options["out"])
        except OSError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"identity (keep it secret, never send it): {identity_path}")
        self.stdout.write(f"public key for the seller ({recipient_path}): {recipient}")
        self.stdout.write(f"fingerprint (read it to the seller): "
                          f"{package.recipient_fingerprint(recipient)}")
