import os

from django.core.management.base import BaseCommand, CommandError

from audit.integrity import verify_and_record


class Command(BaseCommand):
    help = ("Verify the audit hash chain and report the first event that disagrees. By "
            "default from the last link an earlier run verified and signed (the whole chain "
            "when there is none, or when the last full run is older than a week), and against "
            "the latest signed checkpoint of the head kept outside the database; --full checks "
            "the whole chain against every checkpoint.")

    def add_arguments(self, parser):
        parser.add_argument("--full", action="store_true",
                            help="verify every kept event, not only those since the last run")
        parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                            help="processes for a long chain on PostgreSQL (default: one per "
                                 "core)")

    def handle(self, *args, **options):
        run = verify_and_record(full=True if options["full"] else None,
                                workers=max(1, options["workers"]))
        kind = "whole chain" if run.full else f"events after #{run.start_seq}"
        if run.ok:
            self.stdout.write(self.style.SUCCESS(
                f"audit chain intact ({kind}): {run.message} in {run.seconds:.2f}s"))
            return
        raise CommandError(f"audit chain BROKEN at event #{run.first_bad_seq}: {run.message}")
