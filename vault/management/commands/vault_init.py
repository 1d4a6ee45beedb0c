from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from vault import guard, keyring


class Command(BaseCommand):
    help = ("Create the keyring file if it does not exist and the vault holds no data keys "
            "(embedded default). Never overwrites; refuses when the keyring cannot open the "
            "data keys the vault holds.")
    requires_system_checks = []  # it gives the keyring check's answer itself

    def add_arguments(self, parser):
        parser.add_argument("--add-signing-key", action="store_true",
                            help="add an audit signing key to a keyring that has none")
        parser.add_argument("--add-backup-keys", action="store_true",
                            help="add the backup keys (age identities) to a keyring that has none")

    def handle(self, *args, **options):
        source = str(settings.SALON_VAULT_KEYRING)
        keyring.reset()  # read the keyring as it is on disk now
        if source.startswith("env:"):
            keyring.load(source)  # fails loudly if the variable is missing or malformed
            self._refuse_if_it_cannot_open_the_vault()
            self.stdout.write(f"keyring comes from the environment ({source}); nothing to create")
            return
        path = Path(source.removeprefix("file:"))
        if path.exists():
            self._existing(path, add_signing_key=options["add_signing_key"],
                           add_backup_keys=options["add_backup_keys"])
            return
        self._refuse_if_it_cannot_open_the_vault()  # data keys without their keyring
        if not path.parent.exists() and path.parent != Path(settings.VAR_DIR):
            raise CommandError(f"folder {path.parent} does not exist")
        keyring.write_file(keyring.Keyring.generate(), path)
        keyring.reset()
        self.stdout.write(self.style.SUCCESS(f"created keyring at {path} (KEK version 1 primary)"))

    def _existing(self, path: Path, *, add_signing_key: bool, add_backup_keys: bool) -> None:
        ring = keyring.load(str(path))  # a damaged keyring is never replaced
        self._refuse_if_it_cannot_open_the_vault()
        if add_backup_keys and not ring.backup_identities:
            ring.backup_identities = keyring.Keyring.new_backup_identities()
            keyring.write_file(ring, path)
            keyring.reset()
            self.stdout.write(self.style.SUCCESS(
                f"added backup keys to {path}; keep a copy of the keyring with them"))
            return
        if add_signing_key and ring.signing is None:
            ring.signing = keyring.Keyring.generate().signing
            keyring.write_file(ring, path)
            keyring.reset()
            self.stdout.write(self.style.SUCCESS(f"added an audit signing key to {path}"))
            return
        self.stdout.write(f"keyring present at {path}")

    @staticmethod
    def _refuse_if_it_cannot_open_the_vault() -> None:
        if problem := guard.keyring_problem():
            raise CommandError(str(problem))
