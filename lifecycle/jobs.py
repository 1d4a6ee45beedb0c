"""The scheduled jobs: what each is, how a run starts, runs, reports progress and ends.

Two kinds share the jobs page. *Lifecycle jobs* (key rotation now; backups, restore
drills and retention next) are services that report progress: a run is a JobRun row,
Celery carries its id, and each run is recorded in the audit chain as a system actor with
a purpose. *Housekeeping tasks* (expiring grants, signing audit checkpoints...) are plain
Celery tasks; signals.py records their runs. The beat schedule of both lives in one place,
django-celery-beat's tables (schedule.py), with defaults from settings.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

import audit.services as audit
from audit import actions

from .models import JobRun

Progress = Callable[[int, int], None]
# A run that has not reported for this long is taken as dead (its worker was killed);
# starting the job again resumes it, since every lifecycle service converges on rerun.
STALE_AFTER = dt.timedelta(minutes=10)
PROGRESS_EVERY_SECONDS = 0.5


@dataclass(frozen=True)
class Job:
    name: str  # the beat entry's name, and JobRun.job
    label: Promise
    purpose: str
    service: Callable[..., dict]  # (progress, **options) -> counts and ids for the summary


def _rotate_keys(progress: Progress, *, batch: int | None = None) -> dict:
    from vault import rotation

    result = rotation.run(progress=progress, batch=batch or rotation.BATCH)
    return {"kek_version": result.target, "new_version": result.created,
            "rewrapped": result.rewrapped, "destroyed_versions": result.destroyed,
            "data_keys_by_version": {str(v): n for v, n in sorted(result.by_version.items())}}


def _back_up(progress: Progress) -> dict:
    from .backups import create, retention

    swept = create.sweep()  # a backup stopped half-way by a killed run
    made = create.create(progress=progress)
    return {"backup": made.id, "parts": made.parts, "rows": made.rows, "files": made.files,
            "bytes": made.bytes, "removed_unfinished": swept, "pruned": retention.prune()}


def _drill(progress: Progress) -> dict:
    from .backups import drill

    return drill.drill(progress=progress)


def _retention(progress: Progress) -> dict:
    from records import retention

    return retention.propose(progress=progress)


LIFECYCLE: dict[str, Job] = {
    job.name: job for job in (
        Job("kek-rotation", _("Key rotation"), actions.ROTATE_KEYS, _rotate_keys),
        Job("backup", _("Backup"), actions.BACK_UP, _back_up),
        Job("restore-drill", _("Restore drill"), actions.RESTORE_DRILL, _drill),
        Job("retention", _("Retention proposals"), actions.DESTROY_CLIENT, _retention),
    )
}

# Housekeeping tasks by beat entry name: their label, and whether an owner may switch them
# off (the jobs that sign and verify the audit chain may not be).
HOUSEKEEPING: dict[str, tuple[Promise, bool]] = {
    "vault-health-check": (_("Check that the keyring opens every data key"), True),
    "expire-grants": (_("End grants that have expired"), True),
    "refresh-planner-statistics": (_("Refresh database statistics"), False),
    "end-break-glass": (_("End break-glass access that has run out"), True),
    "expire-invitations": (_("Expire unused invitation links"), True),
    "open-access-review": (_("Open the quarterly access review"), False),
    "close-due-access-reviews": (_("Close access reviews that are due"), False),
    "audit-index-subjects": (_("Index audit events by client"), True),
    "audit-verify-nightly": (_("Verify the audit chain (new events)"), True),
    "audit-verify-weekly-full": (_("Verify the whole audit chain"), True),
    "audit-checkpoint": (_("Sign an audit checkpoint"), True),
    "audit-prune-daily": (_("Prune audit events past retention"), True),
    "audit-detect-anomalies": (_("Look for unusual access"), True),
    "rights-remind": (_("Remind owners of rights requests due"), True),
    "transfer-sweep": (_("Remove expired transfer packages; destroy sold clients' copies "
                         "after the grace period"), True),
}


def label_of(name: str) -> str:
    if name in LIFECYCLE:
        return str(LIFECYCLE[name].label)
    if name in HOUSEKEEPING:
        return str(HOUSEKEEPING[name][0])
    return name


def may_disable(name: str) -> bool:
    """Lifecycle jobs and the essential housekeeping tasks keep running; others may pause."""
    return name in HOUSEKEEPING and not HOUSEKEEPING[name][1]


class JobBusy(Exception):
    def __init__(self, run: JobRun):
        super().__init__(f"{run.job} is already running (run {run.pk})")
        self.run = run


def active_run(name: str) -> JobRun | None:
    """The job's queued or running run, if it is alive; a dead one is marked interrupted."""
    run = (JobRun.objects.filter(job=name, status__in=[JobRun.Status.QUEUED,
                                                       JobRun.Status.RUNNING])
           .order_by("-created_at").first())
    if run is None:
        return None
    if _dead(run):
        JobRun.objects.filter(pk=run.pk, status=run.status).update(
            status=JobRun.Status.INTERRUPTED, finished_at=timezone.now(),
            error="no progress reported; the worker was stopped")
        return None
    return run


def _here() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _dead(run: JobRun) -> bool:
    """Silent too long, or its process on this machine is gone (a killed command)."""
    if timezone.now() - (run.heartbeat_at or run.created_at) > STALE_AFTER:
        return True
    host, _, pid = run.worker.rpartition(":")
    if run.status != JobRun.Status.RUNNING or host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


def start(name: str, *, trigger: str, user=None) -> JobRun:
    """Queue a run of a lifecycle job; Celery runs it once the caller's transaction commits."""
    from . import tasks

    job = LIFECYCLE[name]
    with transaction.atomic():
        if (busy := active_run(job.name)) is not None:
            raise JobBusy(busy)
        run = JobRun.objects.create(job=job.name, trigger=trigger, requested_by=user)
        transaction.on_commit(lambda: tasks.run_job.delay(str(run.pk)))
    return run


def create_run(name: str, *, trigger: str, user=None) -> JobRun:
    """A run to execute here and now (a management command), refused if one is alive."""
    if (busy := active_run(name)) is not None:
        raise JobBusy(busy)
    return JobRun.objects.create(job=name, trigger=trigger, requested_by=user)


class Reporter:
    """The service's progress callback: writes done/total at most twice a second."""

    def __init__(self, run: JobRun, echo: Progress | None = None):
        self.run, self.echo, self.last = run, echo, 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if self.echo:
            self.echo(done, total)
        if now - self.last < PROGRESS_EVERY_SECONDS and done < total:
            return
        self.last = now
        fields = {"done": done, "total": total, "heartbeat_at": timezone.now()}
        if self.run.total is None:  # the first report of this attempt
            fields["done_at_start"] = done
            self.run.total = total
        JobRun.objects.filter(pk=self.run.pk).update(**fields)


def execute(run_id, *, echo: Progress | None = None, options: dict | None = None) -> JobRun:
    """Run a queued run to its end, or resume one whose worker died. A finished run, or one
    another worker is running (it reported lately), is left as it is: a redelivered task
    does nothing twice."""
    run = JobRun.objects.get(pk=run_id)
    if run.finished:
        return run
    if run.status == JobRun.Status.RUNNING and not _dead(run):
        return run
    job = LIFECYCLE[run.job]
    now = timezone.now()
    JobRun.objects.filter(pk=run.pk).update(
        status=JobRun.Status.RUNNING, started_at=run.started_at or now, attempt_started_at=now,
        heartbeat_at=now, finished_at=None, attempts=run.attempts + 1, total=None, error="",
        worker=_here())
    run.refresh_from_db()
    try:
        summary = job.service(Reporter(run, echo), **(options or {}))
    except Exception as exc:
        _finish(run, job, status=JobRun.Status.FAILED, summary={},
                error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    # A job whose summary says it did not pass (a restore drill that failed) failed.
    failed = summary.get("passed") is False
    _finish(run, job, status=JobRun.Status.FAILED if failed else JobRun.Status.SUCCEEDED,
            summary=summary, error=summary.get("problem", "") if failed else "")
    return run


def _finish(run: JobRun, job: Job, *, status: str, summary: dict, error: str) -> None:
    run.status, run.summary, run.error = status, summary, error
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "summary", "error", "finished_at"])
    failed = status == JobRun.Status.FAILED
    audit.record(actor=None, actor_label=f"system:{job.name}", role="system",
                 action=actions.JOB_FAIL if failed else actions.JOB_FINISH, outcome="allowed",
                 purpose=job.purpose,
                 detail={"job": job.name, "run": str(run.pk), "trigger": run.trigger,
                         "attempts": run.attempts, "seconds": round(
                             (run.finished_at - run.started_at).total_seconds(), 3),
                         **({"error": type_of(error)} if failed else {}),
                         **({"summary": summary} if summary else {})})


def type_of(error: str) -> str:
    """The exception's name only: an audit event keeps no message text."""
    return error.split(":", 1)[0]


def eta_seconds(run: JobRun) -> float | None:
    """Seconds left at the rate of this attempt so far, or None before there is a rate."""
    if run.status != JobRun.Status.RUNNING or not run.total or run.attempt_started_at is None:
        return None
    moved = run.done - run.done_at_start
    if moved <= 0:
        return None
    elapsed = (timezone.now() - run.attempt_started_at).total_seconds()
    return max(0.0, elapsed * (run.total - run.done) / moved)
