from django.core.management.base import BaseCommand, CommandError

from vault import guard
from vault.status import vault_status


class Command(BaseCommand):
    help = ("Print KEK versions, which is primary, how many data keys each wraps, and shredding. "
            "Exits non-zero when the keyring cannot open every data key the vault holds.")
    requires_system_checks = []  # it reports the keyring check's answer itself

    def handle(self, *args, **options):
        problem = guard.keyring_problem()
        if problem is not None and not problem.readable:
            self.stdout.write(f"keyring: {problem.source} (unreadable)")
            self.stdout.write(f"KEK versions the data keys need: {problem.needed}")
            raise CommandError(str(problem))
        status = vault_status()
        self.stdout.write(f"keyring: {status.source}")
        self.stdout.write(_signing_line())
        self.stdout.write(f"{'KEK':>5}  {'primary':7}  {'in keyring':10}  {'wrapped DEKs':>12}")
        for kek in status.keks:
            self.stdout.write(f"{kek.version:>5}  {'yes' if kek.primary else '':7}  "
                              f"{'yes' if kek.in_keyring else 'MISSING':10}  {kek.wrapped_deks:>12}")
        self.stdout.write(f"subjects with data keys: {status.subjects}")
        self.stdout.write(f"clients shredded: {status.shredded}")
        if status.missing_versions:
            self.stderr.write(self.style.ERROR(
                f"data keys wrapped by KEK versions not in the keyring: {status.missing_versions}"))
        if problem is not None:
            raise CommandError(str(problem))


def _signing_line() -> str:
    # The deployment's public key, as audit checkpoints are verified with it offline
    # (`python audit/checkpoint_file.py FILE --public-key KEY`): raw key in base64 and the
    # first 16 hex digits of its SHA-256.
    import base64
    import hashlib

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    from vault import keyring
    from vault.errors import KeyringError

    try:
        seed = keyring.provider().signing_key()
    except KeyringError:
        return "signing key: none (add one with `manage.py vault_init --add-signing-key`)"
    raw = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(
        Encoding.Raw, PublicFormat.Raw)
    return (f"signing public key: {base64.b64encode(raw).decode()} "
            f"(fingerprint {hashlib.sha256(raw).hexdigest()[:16]})")
