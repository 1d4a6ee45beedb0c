"""Keeping the query planner informed after bulk writes.

SQLite has no statistics until ANALYZE runs, and without them it may walk the whole
client table for a stylist's list instead of the index on location; PostgreSQL's
autovacuum catches up on its own, but only some time after a large load. Seeding demo
data, a large import and a daily job therefore refresh the statistics of the tables the
client pages read.
"""

from __future__ import annotations

import logging

from django.apps import apps
from django.db import connections, router

log = logging.getLogger(__name__)

MODELS = (
    "records.Client", "records.BeautyProfile", "records.HealthNote", "records.Treatment",
    "records.Photo", "records.ClientForm", "access.Grant", "access.BreakGlass",
    "guardian.UserObjectPermission", "vault.DataKey",
)
LARGE_WRITE = 1_000  # rows: below this a load does not change the plans worth a refresh


def refresh_statistics() -> list[str]:
    """ANALYZE the tables behind the client pages, in whichever database holds each."""
    done = []
    for label in MODELS:
        model = apps.get_model(label)
        alias = router.db_for_write(model)
        connection = connections[alias]
        table = model._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
        done.append(f"{alias}:{table}")
    log.info("planner statistics refreshed for %d tables", len(done))
    return done
