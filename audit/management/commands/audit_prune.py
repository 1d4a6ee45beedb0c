from django.conf import settings
from django.core.management.base import BaseCommand

from audit.integrity import prune


class Command(BaseCommand):
    help = "Delete audit events older than AUDIT_RETENTION_DAYS, leaving a signed checkpoint."

    def handle(self, *args, **options):
        cp = prune()
        if cp is None:
            self.stdout.write(f"nothing older than {settings.AUDIT_RETENTION_DAYS} days")
        else:
            self.stdout.write(f"pruned up to event #{cp.seq}; checkpoint signed ({cp.key_id})")
