"""django-guardian, wrapped: the one module that speaks to it.

Guardian stores the object permission `records.view_client` for every active grant; the
`Grant` ledger beside it holds who granted it, why and until when.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from django.db.models import CharField, F, Q, QuerySet, Value
from django.db.models.functions import Cast
from guardian.models import UserObjectPermission
from guardian.shortcuts import assign_perm, get_objects_for_user, remove_perm

VIEW_CLIENT = "records.view_client"


def give(user, client) -> None:
    assign_perm(VIEW_CLIENT, user, client)


def take(user, client) -> None:
    remove_perm(VIEW_CLIENT, user, client)


def granted(user, clients: QuerySet) -> QuerySet:
    """The clients of `clients` on which `user` holds an object grant."""
    return get_objects_for_user(user, VIEW_CLIENT, klass=clients, with_superuser=False,
                                accept_global_perms=False)


def grant_facts(user, client_ids: Sequence[uuid.UUID], *, now: dt.datetime,
                with_policies: bool) -> list[tuple[str, str, str]]:
    """Everything that can change `user`'s decisions on these clients, in one round trip:
    ("grant", client id, "") for each live row of the Grant ledger, ("perm", client id, "")
    for each guardian object permission, ("glass", client id, "") for each active
    break-glass and, with `with_policies`, ("policy", location id, ceiling) for each
    location policy of the user's role. Ids come back as text in the database's own
    spelling; callers parse them with uuid.UUID."""
    from .models import BreakGlass, Grant, LocationPolicy

    text = CharField()

    def tagged(qs, kind: str, ref, extra=None):
        return (qs.order_by().annotate(sv_kind=Value(kind, output_field=text),
                                       sv_ref=Cast(ref, text) if isinstance(ref, str) else ref,
                                       sv_extra=extra or Value("", output_field=text))
                .values_list("sv_kind", "sv_ref", "sv_extra"))

    app_label, codename = VIEW_CLIENT.split(".")
    parts = [
        tagged(Grant.objects.filter(user=user, client_id__in=client_ids, revoked_at__isnull=True)
               .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now)), "grant", "client_id"),
        tagged(UserObjectPermission.objects.filter(
            user=user, permission__codename=codename, permission__content_type__app_label=app_label,
            content_type__app_label=app_label, content_type__model="client",
            object_pk__in=[str(pk) for pk in client_ids]), "perm", F("object_pk")),
        tagged(BreakGlass.objects.filter(user=user, client_id__in=client_ids,
                                         ended_at__isnull=True, expires_at__gt=now),
               "glass", "client_id"),
    ]
    if with_policies:
        role = getattr(getattr(user, "staff", None), "role", "")
        parts.append(tagged(LocationPolicy.objects.filter(role=role), "policy", "location_id",
                            Cast("ceiling", text)))
    return list(parts[0].union(*parts[1:], all=True))
