from django.core.management.base import BaseCommand, CommandError

from audit.integrity import verify_and_record


class Command(BaseCommand):
    help = "Verify the audit hash chain from the latest signed checkpoint; report the first broken link."

    def handle(self, *args, **options):
        run = verify_and_record()
        if run.ok:
            self.stdout.write(self.style.SUCCESS(
                f"audit chain intact: {run.checked} events verified in {run.seconds:.2f}s"))
            return
        raise CommandError(f"audit chain BROKEN at event #{run.first_bad_seq}: {run.message}")
