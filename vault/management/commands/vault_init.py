from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from vault import keyring


class Command(BaseCommand):
    help = "Create the keyring file if it does not exist (embedded default). Never overwrites."

    def add_arguments(self, parser):
        parser.add_argument("--add-signing-key", action="store_true",
                            help="add an audit signing key to a keyring that has none")

    def handle(self, *args, **options):
        source = str(settings.SALON_VAULT_KEYRING)
        if source.startswith("env:"):
            keyring.load(source)  # fails loudly if the variable is missing or malformed
            self.stdout.write(f"keyring comes from the environment ({source}); nothing to create")
            return
        path = Path(source.removeprefix("file:"))
        if path.exists():
            ring = keyring.load(str(path))
            if options["add_signing_key"] and ring.signing is None:
                ring.signing = keyring.Keyring.generate().signing
                keyring.write_file(ring, path)
                keyring.reset()
                self.stdout.write(self.style.SUCCESS(f"added an audit signing key to {path}"))
                return
            self.stdout.write(f"keyring present at {path}")
            return
        if not path.parent.exists() and path.parent != Path(settings.VAR_DIR):
            raise CommandError(f"folder {path.parent} does not exist")
        keyring.write_file(keyring.Keyring.generate(), path)
        keyring.reset()
        self.stdout.write(self.style.SUCCESS(f"created keyring at {path} (KEK version 1 primary)"))
