"""Quarterly access reviews: owners confirm each grant; what is not confirmed expires."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from access import services
from access.models import AccessReview, AccessReviewItem, Grant
from audit.models import AccessEvent
from tests.access.conftest import HEALTH, detail_page


@pytest.fixture
def grants(owner, stylist, outsider, client_record, unassigned_client):
    """The stylist's assignment, an owner grant to the outsider, and a revoked grant."""
    manual = services.grant_give(actor=owner, user=outsider, client=client_record)
    revoked = services.grant_give(actor=owner, user=stylist, client=unassigned_client)
    services.grant_revoke(actor=owner, grant=revoked)
    return {"assignment": Grant.objects.get(user=stylist, source="assignment"),
            "manual": manual, "revoked": revoked}


@pytest.fixture
def review(grants):
    return services.access_review_open()


def _item(review, grant) -> AccessReviewItem:
    return review.items.get(grant=grant)


def _decide(http, review, item, decision):
    return http.post(reverse("access:access_review", args=[review.pk]),
                     {"item": item.pk, "decision": decision})


def test_opening_a_review_makes_one_item_per_active_grant(review, grants):
    assert review.state == AccessReview.State.OPEN
    assert set(review.items.values_list("grant_id", flat=True)) == {
        grants["assignment"].pk, grants["manual"].pk}
    assert set(review.items.values_list("decision", flat=True)) == {"pending"}


def test_expired_grants_are_not_reviewed(owner, stylist, unassigned_client):
    soon = timezone.now() + dt.timedelta(hours=1)
    services.grant_give(actor=owner, user=stylist, client=unassigned_client, expires_at=soon)
    review = services.access_review_open(now=soon + dt.timedelta(minutes=1))
    assert review.items.count() == 0


def test_a_second_opening_in_the_same_quarter_creates_nothing(review, grants):
    assert services.access_review_open() is None
    assert AccessReview.objects.count() == 1
    assert AccessReviewItem.objects.count() == 2


def test_a_new_quarter_opens_a_new_review(review):
    later = review.opened_at + dt.timedelta(days=100)
    assert services.access_review_open(now=later) is not None
    assert AccessReview.objects.count() == 2


def test_the_review_deadline_follows_the_setting(grants, settings):
    settings.ACCESS_REVIEW_DEADLINE_DAYS = 10
    now = timezone.now()
    review = services.access_review_open(now=now)
    assert review.deadline == now + dt.timedelta(days=10)


def test_the_dashboard_links_the_open_review(login, owner, review):
    page = login(owner).get(reverse("access:dashboard")).content.decode()
    assert reverse("access:access_review", args=[review.pk]) in page


def test_the_review_page_lists_each_grant_with_its_client(login, owner, review, client_record):
    page = login(owner).get(reverse("access:access_review", args=[review.pk])).content.decode()
    assert page.count(client_record.code) == 2
    assert "stylist" in page and "outsider" in page


def test_owner_confirms_a_grant(login, owner, review, grants):
    item = _item(review, grants["manual"])
    response = _decide(login(owner), review, item, "confirm")
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.decision == "confirmed" and item.decided_by == owner
    grants["manual"].refresh_from_db()
    assert grants["manual"].confirmed_at is not None and grants["manual"].revoked_at is None


def test_owner_revokes_a_grant_and_access_ends(login, owner, stylist, review, grants,
                                               client_record):
    item = _item(review, grants["assignment"])
    _decide(login(owner), review, item, "revoke")
    item.refresh_from_db()
    assert item.decision == "revoked"
    grants["assignment"].refresh_from_db()
    assert grants["assignment"].revoked_at is not None
    assert HEALTH not in detail_page(login(stylist), client_record)


def test_a_decided_item_cannot_be_decided_again(login, owner, review, grants):
    item = _item(review, grants["manual"])
    http = login(owner)
    _decide(http, review, item, "confirm")
    response = _decide(http, review, item, "revoke")
    item.refresh_from_db()
    grants["manual"].refresh_from_db()
    assert item.decision == "confirmed" and grants["manual"].revoked_at is None
    assert "This grant has already been decided." in http.get(response["Location"]).content.decode()


def test_an_item_of_another_review_is_not_found(login, owner, review, grants):
    other = AccessReview.objects.create(period="2000-Q1", deadline=timezone.now())
    response = _decide(login(owner), other, _item(review, grants["manual"]), "confirm")
    assert response.status_code == 404


def test_closing_after_the_deadline_expires_unconfirmed_grants(owner, stylist, review, grants,
                                                               client_record, login):
    services.access_review_decide(actor=owner, item=_item(review, grants["manual"]), confirm=True)
    expired = services.access_review_close_due(now=review.deadline + dt.timedelta(minutes=1))
    assert expired == 1
    review.refresh_from_db()
    assert review.state == AccessReview.State.CLOSED and review.closed_at is not None
    grants["assignment"].refresh_from_db()
    assert grants["assignment"].revoked_at is not None
    assert grants["assignment"].revoked_reason == "review deadline"
    assert _item(review, grants["assignment"]).decision == "expired"
    grants["manual"].refresh_from_db()
    assert grants["manual"].revoked_at is None
    assert HEALTH not in detail_page(login(stylist), client_record)


def test_closing_before_the_deadline_changes_nothing(review, grants):
    assert services.access_review_close_due(now=review.deadline - dt.timedelta(minutes=1)) == 0
    review.refresh_from_db()
    assert review.state == AccessReview.State.OPEN
    assert Grant.objects.filter(revoked_at__isnull=True).count() == 2


def test_a_closed_review_takes_no_more_decisions(owner, review, grants):
    services.access_review_close_due(now=review.deadline + dt.timedelta(minutes=1))
    with pytest.raises(services.NotAllowed):
        services.access_review_decide(actor=owner, item=_item(review, grants["manual"]),
                                      confirm=True)


def test_the_review_steps_are_recorded(login, owner, review, grants):
    _decide(login(owner), review, _item(review, grants["manual"]), "confirm")
    services.access_review_close_due(now=review.deadline + dt.timedelta(minutes=1))
    opened = AccessEvent.objects.get(action="access_review.open")
    assert opened.detail == {"period": review.period, "grants": 2}
    decided = AccessEvent.objects.get(action="access_review.decide")
    assert decided.actor == owner and decided.detail["decision"] == "confirmed"
    assert decided.client_id == grants["manual"].client_id
    closed = AccessEvent.objects.get(action="access_review.close")
    assert closed.detail == {"period": review.period, "expired": 1}


def test_closing_two_reviews_records_each_ones_own_count(owner, stylist, outsider,
                                                         client_record, unassigned_client):
    now = timezone.now()
    first = services.access_review_open(now=now - dt.timedelta(days=200))
    services.grant_give(actor=owner, user=outsider, client=client_record)
    second = services.access_review_open(now=now - dt.timedelta(days=100))
    assert first.items.count() == 1 and second.items.count() == 2
    services.access_review_close_due(now=now)
    counts = {e.detail["period"]: e.detail["expired"]
              for e in AccessEvent.objects.filter(action="access_review.close")}
    assert counts == {first.period: 1, second.period: 2}
