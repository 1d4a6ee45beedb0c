"""The privacy notice: versions, publishing, and which clients have been told.

Publishing a version makes it the one in force. Every client who has not acknowledged it
is to be told (their own page shows it until they acknowledge); a version marked
`needs_reconsent` also asks again for every consent given under an earlier version.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

import audit.services as audit
from audit import actions

from .models import Client, ConsentEvent, NoticeAcknowledgement, PrivacyNotice


class NoticeError(ValueError):
    pass


def current() -> PrivacyNotice | None:
    return (PrivacyNotice.objects.filter(published_at__isnull=False)
            .order_by("-version").first())


def current_version() -> int | None:
    notice = current()
    return notice.version if notice is not None else None


def draft() -> PrivacyNotice | None:
    return PrivacyNotice.objects.filter(published_at__isnull=True).order_by("-version").first()


def save_draft(*, actor, body_zh: str, body_en: str, contact: str, changes_zh: str = "",
               changes_en: str = "", needs_reconsent: bool = False) -> PrivacyNotice:
    """The one draft (made from the notice in force when none is open), saved."""
    with transaction.atomic():
        notice = draft()
        if notice is None:
            top = PrivacyNotice.objects.aggregate(top=Max("version"))["top"] or 0
            notice = PrivacyNotice(version=top + 1, created_by=actor)
        notice.body_zh, notice.body_en, notice.contact = body_zh, body_en, contact
        notice.changes_zh, notice.changes_en = changes_zh, changes_en
        notice.needs_reconsent = needs_reconsent
        notice.save()
    return notice


def publish(notice: PrivacyNotice, *, actor) -> PrivacyNotice:
    if notice.published_at is not None:
        raise NoticeError("this version is already published")
    if not (notice.body_zh.strip() and notice.body_en.strip() and notice.contact.strip()):
        raise NoticeError("a notice needs its text in both languages and a contact")
    with transaction.atomic():
        updated = PrivacyNotice.objects.filter(pk=notice.pk, published_at__isnull=True).update(
            published_at=timezone.now(), published_by=actor)
        if not updated:
            raise NoticeError("this version is already published")
        notice.refresh_from_db()
        audit.record(actor=actor, actor_label=actor.get_username(), role="owner",
                     action=actions.NOTICE_PUBLISH, outcome="allowed",
                     purpose=actions.PUBLISH_NOTICE,
                     detail={"version": notice.version,
                             "needs_reconsent": notice.needs_reconsent,
                             "to_tell": Client.objects.count()})
    return notice


def acknowledged(client_id, version: int) -> bool:
    return NoticeAcknowledgement.objects.filter(client_id=client_id, version=version).exists()


def acknowledge(client: Client, *, version: int, channel: str, actor=None) -> bool:
    """Record that the client acknowledged this version (once); True if it is new."""
    try:
        with transaction.atomic():
            NoticeAcknowledgement.objects.create(client=client, version=version,
                                                 channel=channel, recorded_by=actor)
            audit.record(actor=actor, actor_label=(actor.get_username() if actor
                                                   else f"client:{client.code}"),
                         role="" if actor else "client", action=actions.NOTICE_ACKNOWLEDGE,
                         outcome="allowed", client_id=client.pk, client_code=client.code,
                         location_code=client.location.code, purpose=actions.PUBLISH_NOTICE,
                         detail={"version": version, "channel": channel})
    except IntegrityError:
        return False
    return True


def status(notice: PrivacyNotice) -> dict:
    """How far telling the clients has got: acknowledged, still to tell, and (for a version
    that asks for it) consents still to be given again."""
    total = Client.objects.count()
    done = NoticeAcknowledgement.objects.filter(version=notice.version).count()
    stale = 0
    if notice.needs_reconsent:
        stale = len(reconsent_due(notice))
    return {"clients": total, "acknowledged": done, "to_tell": max(total - done, 0),
            "reconsent_due": stale}


def reconsent_due(notice: PrivacyNotice, client_id=None) -> set[tuple]:
    """(client, purpose) pairs whose consent in force was given under an earlier version
    than this one, which asks for consent again."""
    if not notice.needs_reconsent:
        return set()
    events = ConsentEvent.objects.order_by("at")
    if client_id is not None:
        events = events.filter(client_id=client_id)
    latest: dict = {}
    for cid, purpose, action, version in events.values_list(
            "client_id", "purpose", "action", "notice_version"):
        latest[(cid, purpose)] = (action, version)
    return {key for key, (action, version) in latest.items()
            if action == ConsentEvent.Action.GIVEN and (version or 0) < notice.version}
