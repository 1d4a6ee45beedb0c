"""What the naive pass rewrites: every model with encrypted fields or files, found the way a
generic encrypted-field library finds them (by field type), and the SQL it reads and writes
their raw ciphertext columns with."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Table:
    label: str  # the model's label, lower case: the first part of the binding context
    table: str
    pk: str  # column of the row's id
    subject: str  # column naming the client (the id itself for the client's own row)
    fields: tuple[str, ...]  # encrypted fields (their names bind the ciphertext)
    columns: tuple[str, ...]
    files: bool  # EncryptedFileField: the columns hold names of files in the file store

    def prefixes(self) -> list[bytes]:
        """The binding context up to the row: "model|field|", per field."""
        return [f"{self.label}|{name}|".encode() for name in self.fields]


def encrypted_tables() -> list[Table]:
    from django.apps import apps

    from vault.fields import EncryptedField, EncryptedFileField

    found = []
    for model in apps.get_models():
        meta = model._meta
        for kind, files in ((EncryptedField, False), (EncryptedFileField, True)):
            fields = [f for f in meta.concrete_fields if isinstance(f, kind)]
            if not fields:
                continue
            subject = meta.pk if model.VAULT_SUBJECT_FIELD == "pk" \
                else meta.get_field(model.VAULT_SUBJECT_FIELD)
            found.append(Table(label=meta.label_lower, table=meta.db_table, pk=meta.pk.column,
                               subject=subject.column, fields=tuple(f.name for f in fields),
                               columns=tuple(f.column for f in fields), files=files))
    return found


def db_ids(connection, ids: list) -> list:
    """UUIDs as the database takes them (hex text on SQLite, uuid on PostgreSQL)."""
    from records.models import Client

    field = Client._meta.pk
    return [field.get_db_prep_value(pk, connection) for pk in ids]


def select_sql(connection, table: Table, count: int) -> str:
    """The row ids, subjects and ciphertext (or file names) of the rows of `count` clients."""
    q = connection.ops.quote_name
    columns = ", ".join(q(c) for c in (table.pk, table.subject, *table.columns))
    among = "= ANY(%s::uuid[])" if connection.vendor == "postgresql" \
        else f"IN ({', '.join(['%s'] * count)})"
    return f"SELECT {columns} FROM {q(table.table)} WHERE {q(table.subject)} {among}"  # noqa: S608


def select_params(connection, ids: list) -> list:
    return [ids] if connection.vendor == "postgresql" else ids


def update_sql(connection, table: Table) -> str:
    """One statement per row, for ``executemany`` (SQLite: in-process, no round trips)."""
    q = connection.ops.quote_name
    sets = ", ".join(f"{q(c)} = %s" for c in table.columns)
    return f"UPDATE {q(table.table)} SET {sets} WHERE {q(table.pk)} = %s"  # noqa: S608


def update_from_arrays_sql(connection, table: Table) -> str:
    """PostgreSQL: every row of a batch in one statement, from arrays (one per column).
    Faster than ``executemany`` of one-row UPDATEs: at 100,000 clients the naive pass wrote
    in 18.4 s against 25.5 s (bench/README.md, "Key rotation")."""
    q = connection.ops.quote_name
    kind = "text" if table.files else "bytea"
    arrays = ", ".join([f"unnest(%s::uuid[]) AS {q(table.pk)}",
                        *(f"unnest(%s::{kind}[]) AS {q(c)}" for c in table.columns)])
    sets = ", ".join(f"{q(c)} = v.{q(c)}" for c in table.columns)
    return (f"UPDATE {q(table.table)} AS t SET {sets} FROM (SELECT {arrays}) AS v "  # noqa: S608
            f"WHERE t.{q(table.pk)} = v.{q(table.pk)}")


def write_rows(cursor, connection, table: Table, updates: list[tuple], *,
               arrays: bool = True) -> None:
    """Write back rows given as (value, ..., id), the fastest way the engine offers."""
    if arrays and connection.vendor == "postgresql":
        *values, ids = (list(column) for column in zip(*updates, strict=True))
        cursor.execute(update_from_arrays_sql(connection, table), [ids, *values])
    else:
        cursor.executemany(update_sql(connection, table), updates)


def count_sql(connection, table: Table) -> str:
    """How many values the table holds (non-null ciphertext, or non-empty file names)."""
    q = connection.ops.quote_name
    parts = [f"SUM(CASE WHEN {q(c)} <> '' THEN 1 ELSE 0 END)" if table.files
             else f"COUNT({q(c)})" for c in table.columns]
    return f"SELECT {', '.join(parts)} FROM {q(table.table)}"  # noqa: S608


def stored_values(connection, tables: list[Table]) -> int:
    """Every value the naive pass must re-encrypt, counted in SQL."""
    total = 0
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(count_sql(connection, table))
            total += sum(n or 0 for n in cursor.fetchone())
    return total
