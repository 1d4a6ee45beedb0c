"""Runs of jobs: one service behind the command, the button and beat; idempotent runs;
the schedule's defaults never overwrite an owner's change; housekeeping runs recorded."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from audit import actions
from audit.models import AccessEvent
from lifecycle import jobs, schedule, tasks
from lifecycle.models import JobRun
from vault import keyring


def rotate(*args) -> str:
    out = StringIO()
    call_command("vault_rotate", *args, stdout=out)
    return out.getvalue()


def test_vault_rotate_plan_says_what_would_change_and_changes_nothing(make_client):
    make_client()
    out = rotate("--plan")
    assert "primary KEK version: 1" in out and "version 1: 1 data keys" in out
    assert "a run makes KEK version 2 primary and rewraps 1 data keys" in out
    assert keyring.load().versions() == [1] and not JobRun.objects.exists()


def test_vault_rotate_run_is_a_recorded_run_of_the_same_job(make_client):
    make_client()
    make_client(full_name="张伟", phone="13900005678")
    out = rotate("--run")
    assert out.splitlines()[-1].startswith("rotated: 2 data keys rewrapped (run ")
    assert "rewrapped 2 / 2 data keys" in out and "new primary version: 2" in out
    run = JobRun.objects.get()
    assert (run.job, run.trigger, run.status) == ("kek-rotation", "command", "succeeded")
    event = AccessEvent.objects.get(action=actions.JOB_FINISH)
    assert event.detail["trigger"] == "command" and event.actor_label == "system:kek-rotation"
    # The rotation is complete: the next run would start another.
    assert "a run makes KEK version 3 primary and rewraps 2 data keys" in rotate("--plan")


def test_vault_rotate_needs_plan_or_run():
    with pytest.raises(CommandError):
        call_command("vault_rotate")


def test_vault_rotate_refuses_while_a_run_is_alive():
    JobRun.objects.create(job="kek-rotation", trigger="owner", status="running",
                          heartbeat_at=timezone.now())
    with pytest.raises(CommandError, match="already running"):
        rotate("--run")
    assert keyring.load().versions() == [1]


def test_a_failed_run_is_recorded_with_the_error_type_only(make_client, monkeypatch):
    from vault import rotation

    make_client()

    def broken(**_kwargs):
        raise RuntimeError("disk full at /secret/place")

    monkeypatch.setattr(rotation, "run", broken)
    with pytest.raises(CommandError, match="still readable, and running it again resumes"):
        rotate("--run")
    run = JobRun.objects.get()
    assert run.status == "failed" and "RuntimeError" in run.error
    event = AccessEvent.objects.get(action=actions.JOB_FAIL)
    assert event.detail["error"] == "RuntimeError" and "secret" not in str(event.detail)


def test_a_finished_run_delivered_again_does_nothing(make_client, eager):
    make_client()
    run = jobs.create_run("kek-rotation", trigger="schedule")
    assert tasks.run_job.delay(str(run.pk)).get() == "succeeded"
    assert tasks.run_job.delay(str(run.pk)).get() == "succeeded"
    assert keyring.load().versions() == [1, 2]  # one rotation, not two
    assert AccessEvent.objects.filter(action=actions.JOB_FINISH).count() == 1


def test_a_run_another_worker_is_running_is_left_to_it():
    run = JobRun.objects.create(job="kek-rotation", trigger="schedule", status="running",
                                heartbeat_at=timezone.now(), attempts=1)
    assert jobs.execute(run.pk).status == "running"
    assert keyring.load().versions() == [1]


def test_a_run_whose_worker_died_is_resumed_when_delivered_again(make_client):
    make_client()
    long_ago = timezone.now() - jobs.STALE_AFTER - dt.timedelta(seconds=1)
    run = JobRun.objects.create(job="kek-rotation", trigger="schedule", status="running",
                                started_at=long_ago, heartbeat_at=long_ago, attempts=1)
    run = jobs.execute(run.pk)
    assert (run.status, run.attempts) == ("succeeded", 2) and run.started_at == long_ago


def test_beat_queues_a_run_and_leaves_a_live_one_alone(make_client, eager,
                                                        django_capture_on_commit_callbacks):
    make_client()
    with django_capture_on_commit_callbacks(execute=True):
        first = tasks.scheduled_job.delay("kek-rotation").get()
    assert JobRun.objects.get(pk=first).status == "succeeded"
    JobRun.objects.create(job="kek-rotation", trigger="owner", status="running",
                          heartbeat_at=timezone.now())
    assert tasks.scheduled_job.delay("kek-rotation").get().startswith("already running")


def test_defaults_are_added_where_missing_and_never_overwrite_an_owners_change(settings):
    PeriodicTask.objects.filter(name__in=settings.CELERY_BEAT_SCHEDULE).delete()
    assert set(schedule.install_defaults()) == set(settings.CELERY_BEAT_SCHEDULE)
    task = PeriodicTask.objects.get(name="kek-rotation")
    schedule.set_cron(task, "0 5 1 7 *")
    assert schedule.install_defaults() == []
    assert schedule.describe(PeriodicTask.objects.get(name="kek-rotation")) == "0 5 1 7 *"


def test_beat_starting_keeps_the_owners_schedule(settings, monkeypatch):
    from celery import current_app
    from django_celery_beat.schedulers import DatabaseScheduler

    assert settings.CELERY_BEAT_SCHEDULER == "lifecycle.schedule:Scheduler"
    schedule.install_defaults()
    schedule.set_cron(PeriodicTask.objects.get(name="kek-rotation"), "0 5 1 7 *")
    # The schedule as beat has read it from the tables (reading it syncs and reconnects).
    monkeypatch.setattr(schedule.Scheduler, "schedule", {})
    scheduler = schedule.Scheduler(app=current_app, lazy=True)
    scheduler.setup_schedule()
    assert schedule.describe(PeriodicTask.objects.get(name="kek-rotation")) == "0 5 1 7 *"
    # django-celery-beat's own start would have put the settings back over it.
    DatabaseScheduler.setup_schedule(scheduler)
    assert schedule.describe(PeriodicTask.objects.get(name="kek-rotation")) == "30 4 2 1 *"


def test_the_next_run_follows_the_schedule():
    schedule.install_defaults()
    task = PeriodicTask.objects.get(name="kek-rotation")  # 04:30 on 2 January, salon time
    task.last_run_at = timezone.now() - dt.timedelta(days=1)
    upcoming = timezone.localtime(schedule.next_run(task))
    year = timezone.localdate().year
    expected = dt.date(year, 1, 2) if timezone.localdate() < dt.date(year, 1, 2) else \
        dt.date(year + 1, 1, 2)
    assert (upcoming.date(), upcoming.hour, upcoming.minute) == (expected, 4, 30)
    task.enabled = False
    assert schedule.next_run(task) is None


def test_a_housekeeping_task_run_is_recorded_with_its_result(eager):
    from access.tasks import expire_grants

    expire_grants.delay()
    run = JobRun.objects.get(job="expire-grants")
    assert run.status == "succeeded" and run.finished_at >= run.started_at
    assert run.summary == {"result": 0}


def test_old_housekeeping_runs_are_dropped(eager):
    from access.tasks import expire_grants

    old = JobRun.objects.create(job="expire-grants", trigger="schedule", status="succeeded")
    JobRun.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=15))
    expire_grants.delay()
    assert not JobRun.objects.filter(pk=old.pk).exists()
    assert JobRun.objects.filter(job="expire-grants").count() == 1
