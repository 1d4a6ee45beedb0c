"""How a page of clients names their locations and assigned staff, in one statement."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.db import connections, router

from .models import Location, StaffProfile


def page_labels(location_ids: Iterable, user_ids: Iterable) -> tuple[dict, dict]:
    """({location id: name}, {user id: display name, else username}). Plain SQL: every
    list and search asks it, and two ORM queries cost more than the statement."""
    location_ids, user_ids = set(location_ids), set(user_ids) - {None}
    connection = connections[router.db_for_read(Location)]
    pk = Location._meta.pk
    users, staff = get_user_model()._meta.db_table, StaffProfile._meta.db_table
    parts, params = [], []
    # Only table names and placeholder marks are formatted in; every value is a parameter.
    if location_ids:
        marks = ", ".join(["%s"] * len(location_ids))
        parts.append(f"SELECT 'location', CAST(id AS TEXT), name "  # noqa: S608
                     f"FROM {Location._meta.db_table} WHERE id IN ({marks})")
        params += [pk.get_db_prep_value(i, connection) for i in location_ids]
    if user_ids:
        marks = ", ".join(["%s"] * len(user_ids))
        parts.append(f"SELECT 'person', CAST(u.id AS TEXT), "  # noqa: S608
                     f"COALESCE(NULLIF(s.display_name, ''), u.username) FROM {users} u "
                     f"LEFT JOIN {staff} s ON s.user_id = u.id WHERE u.id IN ({marks})")
        params += list(user_ids)
    locations: dict[uuid.UUID, str] = {}
    people: dict[int, str] = {}
    if parts:
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(parts), params)
            for kind, ref, name in cursor.fetchall():
                if kind == "location":
                    locations[uuid.UUID(ref)] = name
                else:
                    people[int(ref)] = name
    return locations, people
