"""The beat schedule, in one place: django-celery-beat's tables, which owners edit on the
jobs page. settings.CELERY_BEAT_SCHEDULE holds the defaults: an entry missing from the
tables is added (after `migrate` and when beat starts), and an entry already there is never
overwritten, so an owner's change survives restarts and upgrades (django-celery-beat's own
scheduler writes the settings over the tables at every start)."""

from __future__ import annotations

import datetime as dt

from celery.schedules import crontab
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler, ModelEntry


def install_defaults() -> list[str]:
    """Add the default entries missing from the tables; returns their names."""
    added = []
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        if PeriodicTask.objects.filter(name=name).exists():
            continue
        with transaction.atomic():
            fields = ModelEntry._unpack_fields(**entry)
            _created = PeriodicTask.objects.get_or_create(name=name, defaults=fields)[1]
        if _created:
            added.append(name)
    return added


def after_migrate(**_kwargs) -> None:
    install_defaults()


class Scheduler(DatabaseScheduler):
    """django-celery-beat's scheduler, with the defaults added only where missing."""

    def setup_schedule(self):
        install_defaults()
        self.install_default_entries(self.schedule)


def cron_text(schedule: CrontabSchedule) -> str:
    return " ".join([schedule.minute, schedule.hour, schedule.day_of_month,
                     schedule.month_of_year, schedule.day_of_week])


def spec(task: PeriodicTask) -> str:
    """The schedule in one language-neutral form: a cron expression, or seconds ("600s")."""
    if task.crontab_id:
        return cron_text(task.crontab)
    if task.interval_id:
        return f"{task.interval.every * PERIOD_SECONDS.get(task.interval.period, 1)}s"
    return ""


def describe(task: PeriodicTask) -> str:
    if task.crontab_id:
        return cron_text(task.crontab)
    if task.interval_id:
        seconds = task.interval.every * PERIOD_SECONDS.get(task.interval.period, 1)
        return gettext("every %(n)s s") % {"n": seconds}
    return "—"


PERIOD_SECONDS = {"days": 86400, "hours": 3600, "minutes": 60, "seconds": 1,
                  "microseconds": 1}


def next_run(task: PeriodicTask) -> dt.datetime | None:
    """When beat will next send the task (from its last run, or now if it never ran)."""
    if not task.enabled:
        return None
    now = timezone.now()
    at = now + task.schedule.remaining_estimate(task.last_run_at or now)
    # Celery reads its own clock a moment after ours: to the nearest second.
    return (at + dt.timedelta(microseconds=500_000)).replace(microsecond=0)


def set_cron(task: PeriodicTask, expression: str) -> None:
    """Change the task's schedule to a five-field cron expression (ValueError if it is not
    one). The time zone is the salon's (CELERY_TIMEZONE)."""
    try:
        minute, hour, day_of_month, month_of_year, day_of_week = expression.split()
        crontab(minute=minute, hour=hour, day_of_month=day_of_month,
                month_of_year=month_of_year, day_of_week=day_of_week)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not a five-field cron expression: {expression!r}") from exc
    schedule, _ = CrontabSchedule.objects.get_or_create(
        minute=minute, hour=hour, day_of_month=day_of_month, month_of_year=month_of_year,
        day_of_week=day_of_week, timezone=settings.CELERY_TIMEZONE)
    task.crontab, task.interval = schedule, None
    task.save()


def set_interval(task: PeriodicTask, seconds: int) -> None:
    if seconds < 10:
        raise ValueError("an interval must be at least 10 seconds")
    schedule, _ = IntervalSchedule.objects.get_or_create(every=seconds,
                                                         period=IntervalSchedule.SECONDS)
    task.interval, task.crontab = schedule, None
    task.save()
