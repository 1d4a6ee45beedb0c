"""The owner's jobs page in the browser: a running job's bar follows the run, and key
rotation started from the page (after the password) ends with its result shown."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice
from playwright.sync_api import expect

from lifecycle.models import JobRun
from lifecycle.schedule import install_defaults
from tests.e2e.conftest import authenticator, sign_in_with


@pytest.fixture
def jobs_owner(owner, settings, tmp_path):
    from vault import keyring

    keyring.reset()
    settings.SALON_VAULT_KEYRING = str(tmp_path / "keyring.json")
    call_command("vault_init", stdout=None)
    install_defaults()
    yield owner
    keyring.reset()


def test_the_progress_bar_follows_a_running_job_and_the_result_shows_when_it_ends(
        page, jobs_owner):
    now = timezone.now()
    run = JobRun.objects.create(job="kek-rotation", trigger="schedule", status="running",
                                started_at=now, attempt_started_at=now, heartbeat_at=now,
                                attempts=1, done=0, total=400)
    sign_in_with(page, "owner", authenticator("owner"))
    page.click("#nav-jobs")
    row = page.locator("#job-kek-rotation")
    assert "密钥轮换" in row.inner_text() and "0 / 400" in row.inner_text()
    JobRun.objects.filter(pk=run.pk).update(done=200, heartbeat_at=timezone.now())
    expect(row.locator(".job-progress-text")).to_contain_text("200 / 400 (50%)")
    assert row.locator("progress").get_attribute("value") is not None
    assert row.locator("progress").evaluate("bar => bar.value") == 200
    JobRun.objects.filter(pk=run.pk).update(
        done=400, status="succeeded", finished_at=timezone.now(),
        summary={"rewrapped": 400, "kek_version": 2})
    page.wait_for_selector("#job-kek-rotation .badge.run-succeeded")  # the page reloaded
    assert "已重新包装 400 个数据密钥" in page.locator("#job-kek-rotation").inner_text()


def test_the_owner_starts_key_rotation_after_the_password(page, jobs_owner, make_client, eager):
    make_client()
    StaticDevice.objects.create(user=jobs_owner, name="recovery", confirmed=True).token_set.create(
        token="recovery-code-1")
    sign_in_with(page, "owner", authenticator("owner"))
    page.goto("/jobs/kek-rotation/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#job-start")
    page.wait_for_url("**/accounts/reauth/**")
    page.fill("#id_password", "correct-horse-battery-9")
    page.fill("#id_token", "recovery-code-1")
    page.click("button[type=submit]")
    page.wait_for_url("**/jobs/kek-rotation/")
    assert "已启动" in page.inner_text(".messages")
    assert "成功" in page.inner_text("table.runs")
    run = JobRun.objects.get(job="kek-rotation")
    assert (run.status, run.trigger, run.requested_by) == ("succeeded", "owner", jobs_owner)


def test_the_owner_approves_a_retention_proposal_and_reads_the_certificate(
        page, jobs_owner, make_client, settings, tmp_path):
    import datetime as dt

    from records import retention
    from records.models import Client

    settings.DESTRUCTION_CERTIFICATE_DIR = tmp_path / "certificates"
    old = make_client(full_name="久未到店", phone="13900007777")
    Client.objects.filter(pk=old.pk).update(last_visit=dt.date(2015, 6, 1))
    retention.propose()
    StaticDevice.objects.create(user=jobs_owner, name="recovery", confirmed=True).token_set.create(
        token="recovery-code-2")
    sign_in_with(page, "owner", authenticator("owner"))
    page.goto("/clients/retention/")
    row = page.locator(f"#proposal-{old.code}-client")
    assert "2015-06-01" in row.inner_text()
    page.once("dialog", lambda dialog: dialog.accept())
    row.locator("button[value=approve]").click()
    page.wait_for_url("**/accounts/reauth/**")
    page.fill("#id_password", "correct-horse-battery-9")
    page.fill("#id_token", "recovery-code-2")
    page.click("button[type=submit]")
    page.wait_for_url("**/clients/retention/")
    assert "已销毁" in page.inner_text(".messages")
    assert not Client.objects.filter(pk=old.pk).exists()
    page.click("text=销毁证明")
    assert old.code in page.inner_text("main") and page.locator("#certificate-json").count() == 1
