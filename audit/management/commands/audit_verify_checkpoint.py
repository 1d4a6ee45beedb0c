from django.core.management.base import BaseCommand, CommandError

from audit import checkpoint_file


class Command(BaseCommand):
    requires_system_checks = []  # offline: nothing but the file and the key
    help = ("Verify a signed audit checkpoint file with the deployment's public key alone "
            "(no database, no keyring). Without --public-key, the keyring's own key is used. "
            "The same check runs without Django: python audit/checkpoint_file.py FILE "
            "--public-key KEY")

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--public-key", help="base64 (as printed) or hex Ed25519 key")

    def handle(self, *args, **options):
        try:
            key = (checkpoint_file.parse_public_key(options["public_key"])
                   if options["public_key"] else self._own_key())
            with open(options["file"], "rb") as f:
                head = checkpoint_file.verify(f.read(), key)
        except (OSError, checkpoint_file.InvalidCheckpoint) as exc:
            raise CommandError(f"INVALID: {exc}") from exc
        self.stdout.write(f"valid: head #{head.seq} {head.hash} at {head.at}, "
                          f"{head.count} events, key {head.key_id}")

    def _own_key(self):
        from audit.checkpoints import public_key

        return public_key()
