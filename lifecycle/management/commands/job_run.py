"""`manage.py job_run JOB`: run a lifecycle job here and now, as the jobs page's "Start now"
does, with its progress on the terminal. The last line says how it ended."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from lifecycle import jobs
from lifecycle.models import JobRun


class Command(BaseCommand):
    help = ("Run a lifecycle job now (recorded like a scheduled run, on the jobs page and "
            "in the audit log). A run stopped by a crash is finished by running it again.")

    def add_arguments(self, parser):
        parser.add_argument("job", choices=sorted(jobs.LIFECYCLE))

    def handle(self, *args, **options):
        name = options["job"]
        try:
            run = jobs.create_run(name, trigger=JobRun.Trigger.COMMAND)
        except jobs.JobBusy as busy:
            raise CommandError(f"{name} is already running (run {busy.run.pk}); see the jobs "
                               "page") from None
        shown = [-1]

        def echo(done: int, total: int) -> None:
            tenth = done * 10 // total if total else 10
            if tenth != shown[0] or done == total:
                shown[0] = tenth
                self.stdout.write(f"{name}: {done} / {total}")
                self.stdout.flush()

        try:
            run = jobs.execute(run.pk, echo=echo)
        except Exception as exc:
            raise CommandError(f"{name} stopped ({type(exc).__name__}: {exc}); running it "
                               "again resumes it") from exc
        summary = json.dumps(run.summary, ensure_ascii=False, sort_keys=True)
        if run.status == JobRun.Status.FAILED:
            raise CommandError(f"{name} failed: {run.error or summary} (run {run.pk})")
        self.stdout.write(self.style.SUCCESS(f"{name} finished: {summary} (run {run.pk})"))
