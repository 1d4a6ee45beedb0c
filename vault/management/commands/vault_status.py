from django.core.management.base import BaseCommand

from vault.status import vault_status


class Command(BaseCommand):
    help = "Print KEK versions, which is primary, how many data keys each wraps, and shredding."

    def handle(self, *args, **options):
        status = vault_status()
        self.stdout.write(f"keyring: {status.source}")
        self.stdout.write(f"{'KEK':>5}  {'primary':7}  {'in keyring':10}  {'wrapped DEKs':>12}")
        for kek in status.keks:
            self.stdout.write(f"{kek.version:>5}  {'yes' if kek.primary else '':7}  "
                              f"{'yes' if kek.in_keyring else 'MISSING':10}  {kek.wrapped_deks:>12}")
        self.stdout.write(f"subjects with data keys: {status.subjects}")
        self.stdout.write(f"clients shredded: {status.shredded}")
        if status.missing_versions:
            self.stderr.write(self.style.ERROR(
                f"data keys wrapped by KEK versions not in the keyring: {status.missing_versions}"))
