"""django-guardian, wrapped: the one module that speaks to it.

Guardian stores the object permission `records.view_client` for every active grant; the
`Grant` ledger beside it holds who granted it, why and until when.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connections, router
from django.db.models import QuerySet
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
                policies_of_role: str | None) -> list[tuple[str, str, str]]:
    """Everything that can change `user`'s decisions on these clients, in one round trip:
    ("grant", client id, "") for each live row of the Grant ledger, ("perm", client id, "")
    for each guardian object permission, ("glass", client id, "") for each active
    break-glass and, given `policies_of_role`, ("policy", location id, ceiling) for each
    location policy of that role. Ids come back as text in the database's own
    spelling; callers parse them with uuid.UUID.

    Plain SQL: this runs for every page a member of staff opens, and composing the same
    union through the ORM cost more than running it."""
    from .models import BreakGlass, Grant, LocationPolicy

    if not client_ids:
        return []
    connection = connections[router.db_for_read(Grant)]
    id_field = Grant._meta.get_field("client_id")
    ids = [id_field.get_db_prep_value(pk, connection) for pk in client_ids]
    texts = [str(pk) for pk in client_ids]
    if connection.vendor == "postgresql":
        # One array parameter each, not a page's worth of them three times over.
        among, among_texts = "= ANY(%s::uuid[])", "= ANY(%s::text[])"
        ids, texts = [ids], [texts]
    else:
        among = among_texts = f"IN ({', '.join(['%s'] * len(ids))})"
    when = connection.ops.adapt_datetimefield_value(now)
    app_label, codename = VIEW_CLIENT.split(".")
    # Only table names and placeholder marks are formatted in; every value is a parameter.
    sql = [
        f"SELECT 'grant', CAST(client_id AS TEXT), '' FROM {Grant._meta.db_table} "  # noqa: S608
        f"WHERE user_id = %s AND client_id {among} AND revoked_at IS NULL "
        f"AND (expires_at IS NULL OR expires_at > %s)",
        f"SELECT 'perm', uop.object_pk, '' FROM {UserObjectPermission._meta.db_table} uop "  # noqa: S608
        f"JOIN {Permission._meta.db_table} p ON p.id = uop.permission_id "
        f"JOIN {ContentType._meta.db_table} ct ON ct.id = uop.content_type_id "
        f"WHERE uop.user_id = %s AND p.codename = %s AND ct.app_label = %s "
        f"AND ct.model = 'client' AND p.content_type_id = ct.id AND uop.object_pk {among_texts}",
        f"SELECT 'glass', CAST(client_id AS TEXT), '' FROM {BreakGlass._meta.db_table} "  # noqa: S608
        f"WHERE user_id = %s AND client_id {among} AND ended_at IS NULL "
        f"AND expires_at > %s",
    ]
    params = [user.pk, *ids, when, user.pk, codename, app_label, *texts, user.pk, *ids, when]
    if policies_of_role is not None:
        sql.append(f"SELECT 'policy', CAST(location_id AS TEXT), CAST(ceiling AS TEXT) "  # noqa: S608
                   f"FROM {LocationPolicy._meta.db_table} WHERE role = %s")
        params.append(policies_of_role)
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(sql), params)
        return [tuple(row) for row in cursor.fetchall()]
