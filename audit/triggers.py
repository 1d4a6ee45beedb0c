"""Append-only at the database level: triggers refuse UPDATE and DELETE (and, on PostgreSQL,
TRUNCATE) on the audit tables, on SQLite and PostgreSQL alike.

- Events, retention checkpoints, prune permits, verification runs and the change log are
  never changed nor deleted; events only while a `PrunePermit` row covers them, and the
  database accepts a permit only for an event that has a checkpoint and is older than
  RETENTION_FLOOR_DAYS, whatever the settings say.
- The chain head is one row that moves forward: it is never deleted, its seq never goes
  back (a cut tail cannot be hidden by rewinding it without lifting the triggers).
- An alert keeps what it was raised for; only its count and its workflow (acknowledged,
  resolved, comment) change, and it is never deleted.
- The client index (EventSubject) and its state row are derived from the events and are
  rebuilt from them (`manage.py audit_reindex`), so rows may be deleted; an index row is
  never changed in place.

The same SQL serves the migration and the test-database flush, which must lift the
triggers to empty the tables. A migration that alters an audit table must `remove` them
first and `install` them after: SQLite rebuilds the table, and a trigger that refers to
it from another table makes the rebuild fail. Someone who can drop triggers can still rewrite the tables:
the signed checkpoints kept outside the database (audit/checkpoints.py) catch that.
"""

from __future__ import annotations

# Audit events are kept at least six months; below this, retention is refused.
RETENTION_FLOOR_DAYS = 183

_REFUSE = "audit records are append-only"
# table: (what an UPDATE may do, whether a DELETE is allowed). None: nothing.
_GUARDED = {
    "audit_accessevent": (None, False),
    "audit_checkpoint": (None, False),
    "audit_prunepermit": (None, False),
    "audit_verificationrun": (None, False),
    "auditlog_logentry": (None, False),
    "audit_chainhead": ("forward", False),
    "audit_alert": ("workflow", False),
    "audit_eventsubject": (None, True),
}
GUARDED = tuple(_GUARDED)
_ALERT_FIXED = ("id", "rule", "key", "actor_id", "raised_at", "window_start", "window_end")

# -- SQLite --------------------------------------------------------------------------------

_SQLITE_UPDATE = {
    None: "",
    "forward": "WHEN NEW.seq <= OLD.seq OR NEW.id IS NOT OLD.id",
    "workflow": "WHEN " + " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in _ALERT_FIXED),
}
_SQLITE_DELETE_WHEN = {
    "audit_accessevent": ("WHEN NOT EXISTS (SELECT 1 FROM audit_prunepermit "
                          "WHERE up_to_seq >= OLD.seq)"),
}
_SQLITE_TRIGGER = ("CREATE TRIGGER {name} BEFORE {op} ON {table} {when} "
                   "BEGIN SELECT RAISE(ABORT, '{message}'); END")
_PERMIT_MESSAGE = (f"a prune permit needs a checkpoint of an event at least "
                   f"{RETENTION_FLOOR_DAYS} days old")
_SQLITE_FLOOR = f"datetime('now', '-{RETENTION_FLOOR_DAYS} days')"
_SQLITE_PERMIT_WHEN = " ".join((  # constants only
    "WHEN NOT EXISTS (SELECT 1 FROM audit_checkpoint WHERE seq = NEW.up_to_seq)",
    "OR NOT EXISTS (SELECT 1 FROM audit_accessevent WHERE seq = NEW.up_to_seq",
    "AND at <", _SQLITE_FLOOR, ")",
))


def _sqlite_statements(table: str) -> list[str]:
    update, delete = _GUARDED[table]
    statements = [_SQLITE_TRIGGER.format(name=f"{table}_no_update", op="UPDATE", table=table,
                                         when=_SQLITE_UPDATE[update], message=_REFUSE)]
    if not delete:
        statements.append(_SQLITE_TRIGGER.format(
            name=f"{table}_no_delete", op="DELETE", table=table,
            when=_SQLITE_DELETE_WHEN.get(table, ""), message=_REFUSE))
    if table == "audit_prunepermit":
        statements.append(_SQLITE_TRIGGER.format(
            name=f"{table}_guard_insert", op="INSERT", table=table, when=_SQLITE_PERMIT_WHEN,
            message=_PERMIT_MESSAGE))
    return statements


# -- PostgreSQL ----------------------------------------------------------------------------

_PG_FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' AND TG_TABLE_NAME = 'audit_accessevent' THEN
    IF EXISTS (SELECT 1 FROM audit_prunepermit WHERE up_to_seq >= OLD.seq) THEN
      RETURN OLD;
    END IF;
  END IF;
  RAISE EXCEPTION '{_REFUSE}';
END $$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION audit_head_forward() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    IF NEW.id = OLD.id AND NEW.seq > OLD.seq THEN
      RETURN NEW;
    END IF;
  END IF;
  RAISE EXCEPTION '{_REFUSE}';
END $$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION audit_alert_workflow() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    IF ({", ".join(f"NEW.{c}" for c in _ALERT_FIXED)})
        IS NOT DISTINCT FROM ({", ".join(f"OLD.{c}" for c in _ALERT_FIXED)}) THEN
      RETURN NEW;
    END IF;
  END IF;
  RAISE EXCEPTION '{_REFUSE}';
END $$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION audit_permit_guard() RETURNS trigger AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM audit_checkpoint WHERE seq = NEW.up_to_seq)
     OR NOT EXISTS (SELECT 1 FROM audit_accessevent WHERE seq = NEW.up_to_seq
                    AND at < now() - interval '{RETENTION_FLOOR_DAYS} days') THEN
    RAISE EXCEPTION '{_PERMIT_MESSAGE}';
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION audit_no_truncate() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION '{_REFUSE}';
END $$ LANGUAGE plpgsql;
"""  # noqa: S608 - made of this module's constants only
_PG_FUNCTION = {None: "audit_append_only", "forward": "audit_head_forward",
                "workflow": "audit_alert_workflow"}
_PG_ROW = """
CREATE TRIGGER {table}_append_only BEFORE {ops} ON {table}
FOR EACH ROW EXECUTE FUNCTION {function}();
"""
_PG_TRUNCATE = """
CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
FOR EACH STATEMENT EXECUTE FUNCTION audit_no_truncate();
"""
_PG_PERMIT = """
CREATE TRIGGER audit_prunepermit_guard_insert BEFORE INSERT ON audit_prunepermit
FOR EACH ROW EXECUTE FUNCTION audit_permit_guard();
"""
_PG_NAMES = ("{table}_append_only", "{table}_no_truncate", "{table}_guard_insert")


def _existing(connection) -> list[str]:
    with connection.cursor() as cursor:
        present = set(connection.introspection.table_names(cursor))
    return [t for t in GUARDED if t in present]


def install(connection) -> None:
    remove(connection)  # a changed rule replaces the old trigger rather than sit beside it
    tables = _existing(connection)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_PG_FUNCTIONS)
            for table in tables:
                update, deletable = _GUARDED[table]
                cursor.execute(_PG_ROW.format(table=table, function=_PG_FUNCTION[update],
                                              ops="UPDATE" if deletable else "UPDATE OR DELETE"))
                if not deletable:
                    cursor.execute(_PG_TRUNCATE.format(table=table))
            if "audit_prunepermit" in tables:
                cursor.execute(_PG_PERMIT)
        elif connection.vendor == "sqlite":
            for table in tables:
                for statement in _sqlite_statements(table):
                    cursor.execute(statement)


def remove(connection) -> None:
    tables = _existing(connection)
    with connection.cursor() as cursor:
        for table in tables:
            if connection.vendor == "postgresql":
                for name in _PG_NAMES:
                    cursor.execute(f"DROP TRIGGER IF EXISTS {name.format(table=table)} "
                                   f"ON {table}")
            elif connection.vendor == "sqlite":
                for suffix in ("no_update", "no_delete", "guard_insert"):
                    cursor.execute(f"DROP TRIGGER IF EXISTS {table}_{suffix}")
