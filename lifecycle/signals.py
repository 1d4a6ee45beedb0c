"""Runs of the housekeeping tasks, recorded from Celery's signals: when each started and
ended, how long it took and what it returned (a count or a flag: the tasks return no data).
Rows older than HOUSEKEEPING_RUNS_KEPT are dropped as each new one ends."""

from __future__ import annotations

import datetime as dt
import logging

from celery.signals import task_failure, task_postrun, task_prerun
from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone

from .models import JobRun

log = logging.getLogger(__name__)
HOUSEKEEPING_RUNS_KEPT = dt.timedelta(days=14)
_open: dict[str, str] = {}  # Celery task id -> JobRun id, in this worker


def _entry_of(task_name: str) -> str | None:
    from .jobs import HOUSEKEEPING

    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        if entry["task"] == task_name and name in HOUSEKEEPING:
            return name
    return None


@task_prerun.connect
def _started(task_id=None, task=None, **_kwargs):
    name = _entry_of(getattr(task, "name", ""))
    if name is None:
        return
    try:
        now = timezone.now()
        run = JobRun.objects.create(job=name, trigger=JobRun.Trigger.SCHEDULE,
                                    status=JobRun.Status.RUNNING, started_at=now,
                                    attempt_started_at=now, heartbeat_at=now, attempts=1)
    except DatabaseError:  # the record of a run never stops the run
        log.exception("could not record the start of %s", name)
        return
    _open[task_id] = str(run.pk)


@task_failure.connect
def _failed(task_id=None, exception=None, **_kwargs):
    _end(task_id, JobRun.Status.FAILED, {}, type(exception).__name__ if exception else "")


@task_postrun.connect
def _ended(task_id=None, retval=None, state=None, **_kwargs):
    if state == "FAILURE":
        return  # _failed has ended it
    result = retval if isinstance(retval, bool | int | float) else None
    _end(task_id, JobRun.Status.SUCCEEDED, {"result": result}, "")


def _end(task_id, status, summary, error) -> None:
    run_id = _open.pop(task_id, None)
    if run_id is None:
        return
    try:
        run = JobRun.objects.get(pk=run_id)
        JobRun.objects.filter(pk=run_id).update(status=status, finished_at=timezone.now(),
                                                summary=summary, error=error)
        JobRun.objects.filter(job=run.job, created_at__lt=timezone.now() - HOUSEKEEPING_RUNS_KEPT
                              ).delete()
    except DatabaseError:
        log.exception("could not record the end of run %s", run_id)
