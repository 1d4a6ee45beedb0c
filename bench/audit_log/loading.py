"""Loading the synthetic events into PostgreSQL with COPY, and the real clients that
the openings of phase (a) open."""

from __future__ import annotations

import datetime as dt
import tempfile
import time

from bench.audit_log import (
    CLIENTS,
)
from bench.audit_log.events import AE_COLUMNS, EventGenerator
from bench.common import say
from bench.salon import ensure_staff


def _sql(cursor, statement: str, params=None):
    cursor.execute(statement, params)
    return cursor.fetchall() if cursor.description else None


def loaded_events() -> int:
    """Events loaded by an earlier complete run of this bench into this database (0: none)."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS bench_audit_load (events bigint NOT NULL, "
                    "seed int NOT NULL, per_list int NOT NULL, seconds float NOT NULL, "
                    "loaded_at timestamptz NOT NULL DEFAULT now())")
        row = _sql(cur, "SELECT coalesce(sum(events), 0) FROM bench_audit_load")
    return int(row[0][0])


TABLES = ("audit_accessevent", "audit_eventsubject")


def bulk_load(n: int, *, seed: int, per_list: int) -> None:
    """COPY n synthetic events (and their list subjects) into the chain, in one transaction.

    Secondary indexes and foreign keys of the two tables are dropped first and made again
    after (the same definitions, read from the catalog), which is several times faster than
    maintaining them row by row; a failure rolls all of it back.
    """
    from django.db import connection, transaction

    from audit.models import ChainHead, SubjectIndexState

    gen = _generator(n, seed=seed, per_list=per_list)
    start_seq = gen.seq
    began = time.monotonic()
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET LOCAL maintenance_work_mem = '1GB'")
        indexes, fkeys = _drop_indexes(cur)
        _copy_events(cur, gen, began, after_seq=start_seq)
        say(f"  copied in {time.monotonic() - began:.0f}s; making {len(indexes)} indexes "
            f"again...")
        _restore_indexes(cur, indexes, fkeys)
        cur.execute("SELECT setval(pg_get_serial_sequence('audit_accessevent', 'id'), "
                    "(SELECT max(id) FROM audit_accessevent))")
        ChainHead.objects.update_or_create(pk=1, defaults={"seq": gen.seq, "hash": gen.prev})
        # The subjects were copied with their events: the index is complete up to the head.
        SubjectIndexState.objects.update_or_create(pk=1, defaults={"seq": gen.seq})
        cur.execute("INSERT INTO bench_audit_load (events, seed, per_list, seconds) "
                    "VALUES (%s, %s, %s, %s)", (n, seed, per_list, time.monotonic() - began))
    say("  committed; VACUUM ANALYZE...")
    with connection.cursor() as cur:
        for table in TABLES:
            cur.execute(f"VACUUM ANALYZE {table}")
    say(f"loaded {n:,} events (chain head #{gen.seq}) in {time.monotonic() - began:.0f}s")


def _generator(n: int, *, seed: int, per_list: int) -> EventGenerator:
    """Events chained after the present head, by the 20 staff."""
    from zoneinfo import ZoneInfo

    from django.conf import settings

    from audit import chain
    from audit.models import AccessEvent, ChainHead

    staff = sorted((u.pk, u.username, u.staff.role,
                    u.staff.location.code if u.staff.location else "")
                   for u in ensure_staff().values())
    head = ChainHead.objects.filter(pk=1).first()
    start_seq, start_hash = (head.seq, head.hash) if head else (0, chain.GENESIS)
    start_id = AccessEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    say(f"bulk-loading {n:,} synthetic events after #{start_seq} with COPY "
        f"({len(staff)} staff, {CLIENTS:,} clients, list events name {per_list} subjects)...")
    return EventGenerator(n=n, seed=seed, staff=staff, start_seq=start_seq, start_id=start_id,
                          start_hash=start_hash, per_list=per_list,
                          last_day=dt.date.today() - dt.timedelta(days=1),
                          tz=ZoneInfo(settings.TIME_ZONE))


def _drop_indexes(cur) -> tuple[list, list]:
    """Drop the secondary indexes and foreign keys of the two tables; return their
    definitions."""
    indexes, fkeys = [], []
    for table in TABLES:
        indexes += _sql(cur, """
            SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x
            JOIN pg_class i ON i.oid = x.indexrelid
            WHERE x.indrelid = %s::regclass AND NOT x.indisprimary
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
            """, (table,))
        fkeys += [(table, name, definition) for name, definition in _sql(cur, """
            SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
            WHERE conrelid = %s::regclass AND contype = 'f'""", (table,))]
    for table, name, _definition in fkeys:
        cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _definition in indexes:
        cur.execute(f'DROP INDEX "{name}"')
    say(f"  dropped {len(indexes)} indexes and {len(fkeys)} foreign keys for the load")
    return indexes, fkeys


def _restore_indexes(cur, indexes: list, fkeys: list) -> None:
    for name, definition in indexes:
        t0 = time.monotonic()
        cur.execute(definition)
        say(f"    {name} ({time.monotonic() - t0:.0f}s)")
    for table, name, definition in fkeys:
        cur.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')


def _copy_events(cur, gen: EventGenerator, began: float, *, after_seq: int) -> None:
    """COPY the events as they are generated, then the subjects of list and search events
    (kept in a temporary file meanwhile)."""
    from django.db import connection

    raw = connection.connection.cursor()
    done, subjects = 0, 0
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as subjects_file:
        with raw.copy(f"COPY audit_accessevent ({', '.join(AE_COLUMNS)}) FROM STDIN") as copy:
            for events, subject_text in gen.chunks():
                copy.write(events)
                subjects_file.write(subject_text)
                subjects += subject_text.count("\n")
                done += events.count("\n")
                if done % 1_000_000 < 20_000 or done == gen.n:
                    rate = done / (time.monotonic() - began)
                    say(f"  {done:>10,} / {gen.n:,} events ({rate:,.0f}/s)")
        say(f"  {gen.check()} sampled events match audit.chain.digest; copying "
            f"{subjects:,} event subjects...")
        subjects_file.seek(0)
        # List subjects carry no code; the clients the events opened are indexed with
        # theirs (after the copy), as audit.subject_index does (and migration audit.0006 did).
        cur.execute("ALTER TABLE audit_eventsubject ALTER COLUMN code SET DEFAULT ''")
        with raw.copy("COPY audit_eventsubject (event_id, client_id) FROM STDIN") as copy:
            while block := subjects_file.read(1 << 20):
                copy.write(block)
        cur.execute("ALTER TABLE audit_eventsubject ALTER COLUMN code DROP DEFAULT")
    cur.execute("INSERT INTO audit_eventsubject (event_id, client_id, code) "
                "SELECT id, client_id, client_code FROM audit_accessevent "
                "WHERE client_id IS NOT NULL AND seq > %s", (after_seq,))



def seed_clients(count: int) -> None:
    from records import demo
    from records.models import Client

    have = Client.objects.count()
    if have >= count:
        say(f"reusing {have} seeded clients")
        return
    say(f"seeding {count - have} clients with records.demo.seed_demo...")
    result = demo.seed_demo(clients=count - have, photos=0, forms=0)
    say(f"seeded {result.clients} clients in {result.seconds:.0f}s")
