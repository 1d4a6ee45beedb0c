"""The periodic access jobs do their work once; a second run changes nothing."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from access import permissions, services, tasks
from access.models import AccessReview, AccessReviewItem, BreakGlass, Grant
from audit.models import AccessEvent
from tests.access.conftest import REASON_OK


def _snapshot(model):
    return sorted(model.objects.values_list(*[f.attname for f in model._meta.concrete_fields]),
                  key=str)


def test_expire_grants_revokes_what_is_due_once(stylist, unassigned_client, client_record):
    due = Grant.objects.create(user=stylist, client_id=unassigned_client.pk,
                               location_id=unassigned_client.location_id, source="manual",
                               expires_at=timezone.now() - dt.timedelta(minutes=5))
    permissions.give(stylist, unassigned_client)
    assert tasks.expire_grants() == 1
    due.refresh_from_db()
    assert due.revoked_at is not None and due.revoked_reason == "expired"
    before, events = _snapshot(Grant), AccessEvent.objects.count()
    assert tasks.expire_grants() == 0
    assert _snapshot(Grant) == before
    assert AccessEvent.objects.count() == events
    assert Grant.objects.get(user=stylist, source="assignment").revoked_at is None


def test_expire_grants_runs_through_celery_with_plain_values(stylist, unassigned_client):
    Grant.objects.create(user=stylist, client_id=unassigned_client.pk,
                         location_id=unassigned_client.location_id, source="manual",
                         expires_at=timezone.now() - dt.timedelta(minutes=5))
    assert tasks.expire_grants.apply().get() == 1
    assert tasks.expire_grants.apply().get() == 0


def test_end_break_glass_ends_what_is_due_once(stylist, unassigned_client):
    glass = services.break_glass_open(actor=stylist, client=unassigned_client, reason=REASON_OK)
    BreakGlass.objects.filter(pk=glass.pk).update(
        expires_at=timezone.now() - dt.timedelta(minutes=1))
    assert tasks.end_break_glass() == 1
    glass.refresh_from_db()
    ended = glass.ended_at
    assert ended is not None
    assert tasks.end_break_glass() == 0
    glass.refresh_from_db()
    assert glass.ended_at == ended


def test_end_break_glass_leaves_an_open_one_alone(stylist, unassigned_client):
    glass = services.break_glass_open(actor=stylist, client=unassigned_client, reason=REASON_OK)
    assert tasks.end_break_glass() == 0
    glass.refresh_from_db()
    assert glass.ended_at is None


def test_open_access_review_opens_one_review_per_quarter(client_record):
    assert tasks.open_access_review() is True
    before = (_snapshot(AccessReview), _snapshot(AccessReviewItem))
    assert tasks.open_access_review() is False
    assert (_snapshot(AccessReview), _snapshot(AccessReviewItem)) == before
    assert AccessReviewItem.objects.count() == 1


def test_close_due_access_reviews_closes_once(stylist, client_record):
    # A review opened last quarter or earlier, so its deadline has passed.
    review = services.access_review_open(now=timezone.now() - dt.timedelta(days=120))
    assert tasks.close_due_access_reviews() == 1
    review.refresh_from_db()
    assert review.state == AccessReview.State.CLOSED
    before = (_snapshot(AccessReview), _snapshot(AccessReviewItem), _snapshot(Grant))
    events = AccessEvent.objects.count()
    assert tasks.close_due_access_reviews() == 0
    assert (_snapshot(AccessReview), _snapshot(AccessReviewItem), _snapshot(Grant)) == before
    assert AccessEvent.objects.count() == events


def test_close_due_access_reviews_leaves_a_review_within_its_deadline(client_record):
    review = services.access_review_open()
    assert tasks.close_due_access_reviews() == 0
    review.refresh_from_db()
    assert review.state == AccessReview.State.OPEN


def test_the_jobs_are_scheduled(settings):
    tasks_scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"access.tasks.expire_grants", "access.tasks.end_break_glass",
            "access.tasks.open_access_review",
            "access.tasks.close_due_access_reviews"} <= tasks_scheduled
