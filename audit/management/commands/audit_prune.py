from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from audit.integrity import RetentionTooShort, prune


class Command(BaseCommand):
    help = ("Delete audit events older than AUDIT_RETENTION_DAYS (at least 183), leaving a "
            "signed checkpoint.")

    def handle(self, *args, **options):
        try:
            cp = prune()
        except RetentionTooShort as exc:
            raise CommandError(str(exc)) from exc
        if cp is None:
            self.stdout.write(f"nothing older than {settings.AUDIT_RETENTION_DAYS} days")
        else:
            self.stdout.write(f"pruned up to event #{cp.seq}; checkpoint signed ({cp.key_id})")
