"""The owners' jobs page, through the URLs: every scheduled job with its schedule, last
and next run; starting a job after the password; changing a schedule; the progress feed."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from audit import actions
from audit.models import AccessEvent
from lifecycle import jobs
from lifecycle.models import JobRun
from vault import keyring

pytestmark = pytest.mark.usefixtures("schedules")


@pytest.mark.parametrize("role", ["manager", "stylist", "receptionist", "auditor"])
def test_only_owners_see_the_jobs_page(role, request, login):
    http = login(request.getfixturevalue(role))
    for url in ("/jobs/", "/jobs/kek-rotation/"):
        assert http.get(url).status_code == 403
    assert http.post("/jobs/kek-rotation/start/").status_code == 403
    assert not JobRun.objects.exists()


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get("/jobs/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_page_lists_every_scheduled_job_with_schedule_and_next_run(owner, login, settings):
    page = login(owner).get("/jobs/").content.decode()
    for name in settings.CELERY_BEAT_SCHEDULE:
        assert f'id="job-{name}"' in page
    assert "Key rotation" in page and "30 4 2 1 *" in page  # yearly by default
    assert "Sign an audit checkpoint" in page
    rotation_row = page.split('id="job-kek-rotation"')[1].split("</tr>")[0]
    assert "never" in rotation_row and f"{timezone.now().year + 1}-01-02" in rotation_row


def test_the_page_speaks_chinese(owner, login):
    http = login(owner)
    http.post("/i18n/setlang/", {"language": "zh-hans", "next": "/jobs/"})
    page = http.get("/jobs/").content.decode()
    assert "密钥轮换" in page and "下次运行" in page


def test_starting_a_job_asks_for_the_password_first(owner, login):
    response = login(owner).post("/jobs/kek-rotation/start/")
    assert response.status_code == 302 and "/accounts/reauth/" in response["Location"]
    assert not JobRun.objects.exists()


def test_an_owner_starts_key_rotation_and_sees_its_result(
        owner, login, make_client, eager, django_capture_on_commit_callbacks):
    make_client()
    make_client(full_name="张伟", phone="13900005678")
    http = login(owner, reauthed=True)
    with django_capture_on_commit_callbacks(execute=True):
        response = http.post("/jobs/kek-rotation/start/", follow=True)
    assert response.status_code == 200
    run = JobRun.objects.get(job="kek-rotation")
    assert (run.status, run.trigger, run.requested_by) == ("succeeded", "owner", owner)
    assert run.summary["rewrapped"] == 2 and run.summary["kek_version"] == 2
    assert (run.done, run.total) == (2, 2)
    assert keyring.load().primary == 2
    page = http.get("/jobs/").content.decode()
    row = page.split('id="job-kek-rotation"')[1].split("</tr>")[0]
    assert "Succeeded" in row and "2 data keys rewrapped" in row
    started = AccessEvent.objects.get(action=actions.JOB_START)
    assert started.actor == owner and started.detail == {"job": "kek-rotation"}
    finished = AccessEvent.objects.get(action=actions.JOB_FINISH)
    assert finished.actor is None and finished.role == "system"
    assert finished.purpose == actions.ROTATE_KEYS
    assert finished.detail["run"] == str(run.pk) and finished.detail["summary"]["rewrapped"] == 2


def test_a_running_job_shows_a_progress_bar_fed_by_the_progress_url(owner, login):
    now = timezone.now()
    run = JobRun.objects.create(job="kek-rotation", trigger="schedule", status="running",
                                started_at=now - dt.timedelta(seconds=10),
                                attempt_started_at=now - dt.timedelta(seconds=10),
                                heartbeat_at=now, attempts=1, done=250, total=1000)
    http = login(owner)
    page = http.get("/jobs/").content.decode()
    assert f'data-progress-url="/jobs/runs/{run.pk}/progress/"' in page
    assert '<progress max="1000" value="250">' in page and "250 / 1000" in page
    feed = http.get(f"/jobs/runs/{run.pk}/progress/").json()
    assert feed["status"] == "running" and feed["done"] == 250 and feed["total"] == 1000
    assert feed["percent"] == 25.0 and 25 <= feed["eta_seconds"] <= 35  # 10 s for a quarter
    assert feed["finished"] is False
    detail = http.get("/jobs/kek-rotation/").content.decode()
    assert 'id="job-live"' in detail and 'id="job-start"' not in detail  # no second run


def test_the_progress_feed_is_for_owners_only(owner, manager, login):
    run = JobRun.objects.create(job="kek-rotation", trigger="schedule")
    assert login(manager).get(f"/jobs/runs/{run.pk}/progress/").status_code == 403


def test_a_run_whose_worker_died_shows_as_interrupted_and_can_be_started_again(
        owner, login, eager, django_capture_on_commit_callbacks):
    long_ago = timezone.now() - jobs.STALE_AFTER - dt.timedelta(minutes=1)
    dead = JobRun.objects.create(job="kek-rotation", trigger="schedule", status="running",
                                 started_at=long_ago, heartbeat_at=long_ago, attempts=1)
    http = login(owner, reauthed=True)
    assert "Interrupted" in http.get("/jobs/").content.decode()
    dead.refresh_from_db()
    assert dead.status == "interrupted"
    with django_capture_on_commit_callbacks(execute=True):
        http.post("/jobs/kek-rotation/start/")
    assert JobRun.objects.filter(job="kek-rotation", status="succeeded").count() == 1


def test_an_owner_changes_a_schedule_after_the_password_and_it_is_recorded(owner, login):
    http = login(owner)
    form = {"kind": "cron", "cron": "0 3 1 */6 *", "enabled": "on"}
    response = http.post("/jobs/kek-rotation/", form)
    assert "/accounts/reauth/" in response["Location"]
    assert PeriodicTask.objects.get(name="kek-rotation").crontab.month_of_year == "1"
    http = login(owner, reauthed=True)
    response = http.post("/jobs/kek-rotation/", form, follow=True)
    assert "0 3 1 */6 *" in response.content.decode()
    task = PeriodicTask.objects.get(name="kek-rotation")
    assert (task.crontab.hour, task.crontab.month_of_year) == ("3", "*/6")
    event = AccessEvent.objects.get(action=actions.JOB_SCHEDULE_CHANGE)
    assert event.actor == owner
    assert event.detail["before"]["schedule"] == "30 4 2 1 *"
    assert event.detail["after"]["schedule"] == "0 3 1 */6 *"


@pytest.mark.parametrize("form", [
    {"kind": "cron", "cron": "every night"},
    {"kind": "cron", "cron": "61 4 * * *"},
    {"kind": "interval", "seconds": "3"},
    {"kind": "interval", "seconds": ""},
    {"kind": "weekly"},
])
def test_a_bad_schedule_is_refused_with_a_message_and_nothing_changes(owner, login, form):
    http = login(owner, reauthed=True)
    response = http.post("/jobs/kek-rotation/", form)
    assert response.status_code == 400
    assert 'class="errorlist' in response.content.decode()
    assert PeriodicTask.objects.get(name="kek-rotation").crontab.hour == "4"
    assert not AccessEvent.objects.filter(action=actions.JOB_SCHEDULE_CHANGE).exists()


def test_an_essential_job_cannot_be_paused_but_others_can(owner, login):
    http = login(owner, reauthed=True)
    http.post("/jobs/audit-checkpoint/", {"kind": "interval", "seconds": "600"})  # no "enabled"
    task = PeriodicTask.objects.get(name="audit-checkpoint")
    assert task.enabled and task.interval.every == 600
    assert AccessEvent.objects.get(action=actions.JOB_SCHEDULE_CHANGE).detail["after"] == {
        "schedule": "600s", "enabled": True}
    assert "every 600 s" in http.get("/jobs/").content.decode()
    http.post("/jobs/refresh-planner-statistics/", {"kind": "cron", "cron": "40 3 * * *"})
    assert not PeriodicTask.objects.get(name="refresh-planner-statistics").enabled
    assert "paused" in http.get("/jobs/").content.decode()
