"""Celery tasks: thin wrappers that carry a run's id (or a job's name), never data."""

from celery import shared_task
from django.conf import settings

from . import jobs
from .models import JobRun


@shared_task(acks_late=True, reject_on_worker_lost=True,
             soft_time_limit=settings.LIFECYCLE_SOFT_TIME_LIMIT,
             time_limit=settings.LIFECYCLE_SOFT_TIME_LIMIT + 60)
def run_job(run_id: str) -> str:
    """Run one queued run; a redelivered message finds it finished and does nothing."""
    return jobs.execute(run_id).status


@shared_task
def scheduled_job(name: str) -> str:
    """What beat sends: queue a run of the lifecycle job (or leave the live one running)."""
    try:
        run = jobs.start(name, trigger=JobRun.Trigger.SCHEDULE)
    except jobs.JobBusy as busy:
        return f"already running: {busy.run.pk}"
    return str(run.pk)
