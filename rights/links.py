"""The client's own page: a signed, expiring, revocable link per client (no account).

The token is the ClientLink id signed with the deployment's secret (django.core.signing),
so it cannot be forged or altered; the row says when it expires and whether staff revoked
it. Every refusal looks the same, so a tampered, expired or revoked link reveals nothing.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.core import signing
from django.utils import timezone

import audit.services as audit
from audit import actions
from records.models import Client

from .models import ClientLink

SALT = "rights.client-page"


class InvalidLink(Exception):
    """Not a link we made, changed, expired or revoked: all look the same outside."""


def lifetime() -> dt.timedelta:
    return dt.timedelta(days=getattr(settings, "CLIENT_LINK_DAYS", 30))


def issue(client: Client, *, actor, language: str,
          until: dt.datetime | None = None) -> tuple[ClientLink, str]:
    """A new link to the client's page, valid for `lifetime()` or until `until` if later
    (a notice that asks for an answer by a date)."""
    expires = timezone.now() + lifetime()
    link = ClientLink.objects.create(client_id=client.pk, language=language, issued_by=actor,
                                     expires_at=max(expires, until) if until else expires)
    audit.record(actor=actor, actor_label=actor.get_username() if actor else "system",
                 role="" if actor else "system", action=actions.CLIENT_PAGE_LINK,
                 outcome="allowed", client_id=client.pk, client_code=client.code,
                 location_code=client.location.code, purpose=actions.CLIENT_SELF_SERVICE,
                 detail={"link": str(link.pk), "expires": link.expires_at.isoformat()})
    return link, token_for(link)


def token_for(link: ClientLink) -> str:
    return signing.dumps(link.pk.hex, salt=SALT)


def resolve(token: str) -> tuple[ClientLink, Client]:
    """The link and its client, or InvalidLink."""
    try:
        link_id = uuid.UUID(hex=signing.loads(token, salt=SALT))
    except (signing.BadSignature, ValueError, TypeError):
        raise InvalidLink from None
    link = ClientLink.objects.filter(pk=link_id).first()
    if link is None or link.revoked_at is not None or link.expires_at <= timezone.now():
        raise InvalidLink
    client = Client.objects.select_related("location").filter(pk=link.client_id).first()
    if client is None:  # destroyed since
        raise InvalidLink
    return link, client


def revoke_all(client: Client) -> int:
    return ClientLink.objects.filter(client_id=client.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now())
