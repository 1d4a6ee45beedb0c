"""`manage.py certificate_verify FILE [--public-key KEY]`: is this destruction
certificate ours and unchanged? (Offline: `python records/certificate_file.py`.)"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from audit import checkpoints
from records import certificate_file


class Command(BaseCommand):
    help = ("Verify a destruction certificate's signature with this deployment's public key "
            "(or --public-key). Exits non-zero for a changed, forged or foreign certificate.")

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--public-key", help="an Ed25519 public key (base64 or hex)")

    def handle(self, *args, **options):
        try:
            key = (certificate_file.parse_public_key(options["public_key"])
                   if options["public_key"] else checkpoints.public_key())
            statement = certificate_file.verify(Path(options["file"]).read_bytes(), key)
        except (OSError, certificate_file.InvalidCertificate) as exc:
            raise CommandError(f"not valid: {exc}") from None
        self.stdout.write(f"client {statement['client_code']} ({statement['client_id']})")
        self.stdout.write(f"destroyed at {statement['destroyed_at']} ({statement['basis']}: "
                          f"{statement['reason']})")
        self.stdout.write(f"data keys shredded: {', '.join(statement['key_ids']) or 'none'}")
        self.stdout.write(self.style.SUCCESS(
            f"valid: signed by {statement['key_id']}"))
