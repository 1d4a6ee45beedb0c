"""`manage.py vault_rotate --plan | --run`: KEK rotation, as the jobs page and beat run it."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from lifecycle import jobs
from lifecycle.models import JobRun
from vault import rotation
from vault.errors import KeyringError

JOB = "kek-rotation"


class Command(BaseCommand):
    help = ("Rotate the key-encryption key: a new primary version, every data key rewrapped "
            "under it (records stay readable throughout; a stopped run resumes when run "
            "again), then retired versions past the backup horizon destroyed. --plan says "
            "what a run would do and changes nothing.")

    def add_arguments(self, parser):
        mode = parser.add_mutually_exclusive_group(required=True)
        mode.add_argument("--plan", action="store_true", help="say what a run would do")
        mode.add_argument("--run", action="store_true", help="rotate now")
        parser.add_argument("--batch", type=int, default=rotation.BATCH,
                            help=f"data keys rewrapped per transaction (default {rotation.BATCH})")

    def handle(self, *args, **options):
        try:
            if options["plan"]:
                self._plan()
            else:
                if options["batch"] < 1:
                    raise CommandError("--batch must be at least 1")
                self._run(options["batch"])
        except KeyringError as exc:
            raise CommandError(str(exc)) from None

    def _plan(self) -> None:
        plan = rotation.plan()
        self.stdout.write(f"keyring: {plan.source}")
        self.stdout.write(f"primary KEK version: {plan.primary}")
        for version, count in sorted(plan.by_version.items()):
            self.stdout.write(f"  version {version}: {count} data keys")
        if plan.new_primary:
            self.stdout.write(f"a run makes KEK version {plan.target} primary and rewraps "
                              f"{plan.to_rewrap} data keys under it")
        else:
            self.stdout.write(f"a rotation to version {plan.target} is under way: a run "
                              f"rewraps the {plan.to_rewrap} data keys left")
        for version, why in sorted(plan.kept.items()):
            self.stdout.write(f"retired version {version} is kept: {why}")
        self.stdout.write(f"versions a run destroys: {plan.destroy or 'none'}")

    def _run(self, batch: int) -> None:
        try:
            run = jobs.create_run(JOB, trigger=JobRun.Trigger.COMMAND)
        except jobs.JobBusy as busy:
            raise CommandError(f"a key rotation is already running (run {busy.run.pk}); "
                               "see the jobs page") from None
        shown = [-1]

        def echo(done: int, total: int) -> None:
            tenth = done * 10 // total if total else 10
            if tenth != shown[0]:
                shown[0] = tenth
                self.stdout.write(f"rewrapped {done} / {total} data keys")

        try:
            run = jobs.execute(run.pk, echo=echo, options={"batch": batch})
        except KeyringError:
            raise
        except Exception as exc:
            raise CommandError(f"the rotation stopped ({type(exc).__name__}: {exc}); every "
                               "record is still readable, and running it again resumes it"
                               ) from exc
        s = run.summary
        self.stdout.write(f"new primary version: {s['kek_version']}" if s["new_version"] else
                          f"finished the rotation to version {s['kek_version']}")
        self.stdout.write(f"data keys by version: {s['data_keys_by_version']}")
        self.stdout.write(f"destroyed versions: {s['destroyed_versions'] or 'none'}")
        self.stdout.write(self.style.SUCCESS(
            f"rotated: {s['rewrapped']} data keys rewrapped (run {run.pk})"))
