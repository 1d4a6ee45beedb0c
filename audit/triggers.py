"""Append-only at the database level: triggers refuse UPDATE and DELETE on the audit tables.

Retention may delete events only while a `PrunePermit` row covers them, which the pruning
service writes and removes inside one transaction. The same SQL serves the migration and
the test-database flush, which must lift the triggers to empty the tables.
"""

from __future__ import annotations

GUARDED = ("audit_accessevent", "audit_checkpoint", "auditlog_logentry")

_SQLITE = (
    "CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table} "
    "BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table} {when} "
    "BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END",
)
_SQLITE_PERMIT = ("WHEN NOT EXISTS (SELECT 1 FROM audit_prunepermit "
                  "WHERE up_to_seq >= OLD.seq)")

_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' AND TG_TABLE_NAME = 'audit_accessevent' AND EXISTS (
      SELECT 1 FROM audit_prunepermit WHERE up_to_seq >= OLD.seq) THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'audit records are append-only';
END $$ LANGUAGE plpgsql;
"""
_PG_TRIGGER = """
DROP TRIGGER IF EXISTS {table}_append_only ON {table};
CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
FOR EACH ROW EXECUTE FUNCTION audit_append_only();
"""


def _existing(connection) -> set[str]:
    with connection.cursor() as cursor:
        return set(connection.introspection.table_names(cursor))


def install(connection) -> None:
    tables = [t for t in GUARDED if t in _existing(connection)]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_PG_FUNCTION)
            for table in tables:
                cursor.execute(_PG_TRIGGER.format(table=table))
        elif connection.vendor == "sqlite":
            for table in tables:
                when = _SQLITE_PERMIT if table == "audit_accessevent" else ""
                for statement in _SQLITE:
                    cursor.execute(statement.format(table=table, when=when))


def remove(connection) -> None:
    tables = [t for t in GUARDED if t in _existing(connection)]
    with connection.cursor() as cursor:
        for table in tables:
            if connection.vendor == "postgresql":
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            elif connection.vendor == "sqlite":
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
