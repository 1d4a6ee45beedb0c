#!/usr/bin/env python
"""Benchmark of the audit log, run by hand:

    .venv/bin/python bench/audit.py [--quick] [--keep DIR] [--events 10000000]

It uses scratch PostgreSQL databases (sv_bench_audit / sv_bench_audit_keys, or
sv_bench_audit_quick* with --quick; server from BENCH_PG, default
postgresql://postgres@127.0.0.1:5432/) and a scratch SALON_VAULT_VAR, and measures in one
run:

a) recording overhead: audit.services.record() alone, and access.door.open_client with
   recording against the same opening with audit.services._append stubbed out, on
   PostgreSQL and (in a child process) on SQLite; the durability floor (a one-row UPDATE
   and its commit); on PostgreSQL also the ORM append (SQLite's path, PostgreSQL's before
   the one-statement append) as the comparison, and four writers at once;
b) the auditor's filters at 10 million events: synthetic events bulk-loaded with COPY as a
   valid hash chain, then audit.selectors.filtered + page as the /audit/ views run them,
   the client history view and the per-day chart; the queries that missed their target
   before are measured again with the previous selectors (PreviousSelectors, same first
   page checked) as the baseline, and every filter is planned with EXPLAIN (no full scan
   of the event table);
c) audit_verify throughput: `verify_and_record(full=True)` over the whole chain with one
   worker process and with one per core, the previous verifier loop (ORM rows and
   json.dumps) over the first million as the baseline, the cProfile of the loop, and an
   incremental (nightly) run after new events.

Without --keep the databases are created fresh and dropped at the end. With --keep DIR the
scratch directory (keyring) and the databases are kept, and a second run reuses the
loaded events (loading 10 million takes several minutes).
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import cProfile
import datetime as dt
import gc
import hashlib
import itertools
import json
import os
import platform
import pstats
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# `python bench/audit.py` puts bench/ first on sys.path, where this very file would
# shadow the `audit` app: the project root goes there instead.
sys.path[:1] = [str(ROOT)]

from bench.common import (  # noqa: E402
    Result,
    code_version,
    ensure_staff,
    median,
    ms,
    p95,
    pg_create,
    pg_drop,
    pg_exists,
    pg_url,
    prepare_databases,
    report,
    request_facts,
    say,
    setup_django,
)

RESULTS: list[Result] = []
FULL_EVENTS, QUICK_EVENTS = 10_000_000, 200_000
CLIENTS = 100_000  # distinct clients named by the synthetic events
YEARS_DAYS = 3 * 365
TARGET_RECORD_MS = 1.0  # recording adds at most this much to an opening at p95
TARGET_FILTER_MS = 200.0  # each auditor query at p95
TARGET_VERIFY = 100_000  # events per second


# ======================================================================================
# Synthetic events: a valid hash chain, generated as COPY text
# ======================================================================================
# (action, weight, kind, data class, purpose). Kinds: client (one client), list (a page of
# clients as subjects), search (a few subjects), auth, audit, system.
ACTIONS = (
    ("client.open", 30, "client", 4, "view client record"),
    ("client.list", 12, "list", 2, "browse clients"),
    ("client.search", 7, "search", 2, "browse clients"),
    ("photo.view", 8, "client", 4, "view a photo"),
    ("client.open_for_edit", 5, "client", 3, "edit client record"),
    ("client.update", 5, "client", 3, "update client record"),
    ("treatment.create", 8, "client", 3, "record a treatment"),
    ("photo.create", 3, "client", 4, "add a photo"),
    ("form.view", 2, "client", 4, "view a signed form"),
    ("form.create", 1, "client", 4, "add a signed form"),
    ("auth.login", 9, "auth", 0, ""),
    ("auth.logout", 6, "auth", 0, ""),
    ("auth.login_failed", 1, "auth", 0, ""),
    ("auth.idle_timeout", 2, "auth", 0, ""),
    ("grant.give", 0.5, "client", 0, ""),
    ("audit.export.csv", 0.05, "audit", 0, ""),
    ("system.open", 0.05, "system", 4, "nightly backup"),
)
ROLE_WEIGHT = {"stylist": 6, "beautician": 6, "reception": 5, "manager": 3, "owner": 2,
               "auditor": 0.3}
USER_AGENTS = (
    "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36 Edg/124.0.0.0",
    "Mozilla/5.0 (Linux; Android 14; V2307A) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/118.0.0.0 Mobile Safari/537.36 MicroMessenger/8.0.47",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15",
)
NULL = "\\N"  # COPY text format
AE_COLUMNS = ("id", "seq", "at", "actor_id", "actor_label", "role", "action", "client_id",
              "client_code", "location_code", "subjects", "data_class", "purpose",
              "break_glass", "outcome", "detail", "ip", "user_agent", "request_id",
              "prev_hash", "hash")


def client_pool(seed: int) -> dict[str, tuple[list[str], list[str]]]:
    """100,000 synthetic clients, 60 % in bj: (ids, codes) per branch. Their codes start at
    100001 so they never name a client that seed_demo creates (BJ-000001...)."""
    rng = random.Random(f"bench-audit-clients:{seed}")
    pools = {}
    for loc, count in (("bj", CLIENTS * 6 // 10), ("sh", CLIENTS - CLIENTS * 6 // 10)):
        ids = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(count)]
        codes = [f"{loc.upper()}-{100_001 + i:06d}" for i in range(count)]
        pools[loc] = (ids, codes)
    return pools


def _day_counts(n: int, days: int, rng: random.Random, first_day: dt.date) -> list[int]:
    """Events per day: busier at weekends, growing over the years, a little noise."""
    weights = []
    for d in range(days):
        day = first_day + dt.timedelta(days=d)
        w = (1.3 if day.weekday() >= 5 else 1.0) * (0.8 + 0.4 * d / days)
        weights.append(w * (0.85 + 0.3 * rng.random()))
    total = sum(weights)
    counts = [int(n * w / total) for w in weights]
    for i in range(n - sum(counts)):
        counts[-1 - (i % days)] += 1
    return counts


class EventGenerator:
    """Rows of audit_accessevent as COPY text, chained from (start_seq, start_hash).

    The canonical form each hash covers is written with f-strings for speed; `check`
    rebuilds sampled rows as Python values and compares with audit.chain.digest, and
    verify_chain over the loaded table checks all of them.
    """

    def __init__(self, *, n: int, seed: int, staff: list[tuple[int, str, str, str]],
                 start_seq: int, start_id: int, start_hash: str, per_list: int,
                 last_day: dt.date, tz) -> None:
        self.n, self.per_list = n, per_list
        self.rng = random.Random(f"bench-audit-events:{seed}")
        self.pools = client_pool(seed)
        self.seq, self.id, self.prev = start_seq, start_id, start_hash
        self.first_day = last_day - dt.timedelta(days=YEARS_DAYS - 1)
        self.tz = tz
        self.counts = _day_counts(n, YEARS_DAYS, self.rng, self.first_day)
        cum, total = [], 0.0
        for action in ACTIONS:
            total += action[1]
            cum.append(total)
        self.action_cum, self.action_total = cum, total
        # staff: (id, username, role, location code or "")
        self.staff = staff
        workers = [s for s in staff if s[2] != "auditor"]
        wcum, total = [], 0.0
        for s in workers:
            total += ROLE_WEIGHT.get(s[2], 1)
            wcum.append(total)
        self.workers, self.worker_cum, self.worker_total = workers, wcum, total
        self.auditors = [s for s in staff if s[2] in ("auditor", "owner")]
        self.ips = {s[0]: [f"192.168.{1 if s[3] != 'sh' else 2}.{10 + (s[0] * 7 + k) % 200}"
                           for k in range(3)] for s in staff}
        self.samples: list[tuple[dict, str]] = []

    def _actor(self, kind: str):
        rnd = self.rng.random
        if kind == "system":
            return None
        if kind == "audit":
            return self.auditors[int(rnd() * len(self.auditors))]
        if kind == "auth" and rnd() < 0.02:
            return self.staff[int(rnd() * len(self.staff))]
        return self.workers[bisect.bisect(self.worker_cum, rnd() * self.worker_total)]

    def chunks(self, rows_per_chunk: int = 20_000):
        """Yield (events COPY text, subjects COPY text) chunks until n events are made."""
        rnd, getrandbits = self.rng.random, self.rng.getrandbits
        pools, sha = self.pools, hashlib.sha256
        actions, action_cum, action_total = ACTIONS, self.action_cum, self.action_total
        lines: list[str] = []
        subject_lines: list[str] = []
        made = 0
        sample_every = max(1, self.n // 200)
        for d, count in enumerate(self.counts):
            day = self.first_day + dt.timedelta(days=d)
            base = (dt.datetime.combine(day, dt.time(), tzinfo=self.tz)
                    .astimezone(dt.UTC).replace(tzinfo=None))
            offsets = []
            for _ in range(count):
                if rnd() < 0.97:  # opening hours, 10:00-21:00 local
                    offsets.append(int((36_000 + 39_600 * rnd()) * 1e6))
                else:  # early or late
                    offsets.append(int((25_200 + 63_000 * rnd()) * 1e6))
            offsets.sort()
            for off in offsets:
                at = (base + dt.timedelta(microseconds=off)).isoformat(
                    timespec="microseconds") + "Z"
                glass = rnd() < 0.001
                if glass:
                    action, _w, kind, dc, purpose = (
                        ("break_glass.open", 0, "client", 0, "") if rnd() < 0.5
                        else ("client.open", 0, "client", 4, "view client record"))
                else:
                    action, _w, kind, dc, purpose = actions[
                        bisect.bisect(action_cum, rnd() * action_total)]
                actor = self._actor(kind)
                denied = action == "auth.login_failed" or (
                    kind in ("client", "list", "search", "audit") and rnd() < 0.02)
                subjects = "[]"
                cid = code = loc = ""
                detail = "{}"
                if actor is None:
                    actor_id, label, role = "null", "system:backup", "system"
                    ip, ua, rid = None, "", ""
                    detail = '{"all_subjects":true}'
                else:
                    actor_id, label, role = str(actor[0]), actor[1], actor[2]
                    ips = self.ips[actor[0]]
                    ip = ips[int(rnd() * 3)]
                    ua = USER_AGENTS[actor[0] % 4] if rnd() < 0.9 else USER_AGENTS[
                        int(rnd() * 4)]
                    rid = f"{getrandbits(128):032x}"
                if kind in ("client", "list", "search"):
                    loc = actor[3] if actor and actor[3] and rnd() < 0.92 else (
                        "bj" if rnd() < 0.6 else "sh")
                    ids, codes = pools[loc]
                if kind == "client":
                    i = int(len(ids) * rnd() ** 1.6)
                    cid, code = ids[i], codes[i]
                    if action == "client.open":
                        granted = "true" if rnd() < 0.7 and not glass else "false"
                        detail = (f'{{"break_glass_id":"{uuid.UUID(int=getrandbits(128))}",'
                                  f'"granted":{granted}}}' if glass else
                                  f'{{"granted":{granted}}}')
                    elif action == "break_glass.open":
                        detail = (f'{{"break_glass_id":"{uuid.UUID(int=getrandbits(128))}",'
                                  f'"client_code":"{code}","minutes":30}}')
                    elif action == "grant.give":
                        detail = (f'{{"client_code":"{code}","expires_at":null,'
                                  f'"source":"assignment","user":"{label}"}}')
                elif kind == "list":
                    start = int((len(ids) - self.per_list) * rnd())
                    shown = ids[start:start + self.per_list]
                    detail = f'{{"page":{1 + int(rnd() * 40)}}}'
                elif kind == "search":
                    shown = [ids[int(len(ids) * rnd())] for _ in range(1 + int(rnd() * 3))]
                    detail = (f'{{"page":1,"query_kind":"'
                              f'{("phone", "phone_last4", "name")[int(rnd() * 3)]}",'
                              f'"term_hmac":"{getrandbits(256):064x}"}}')
                elif kind == "audit":
                    detail = f'{{"filter":{{}},"rows":{int(rnd() * 5000)}}}'
                if kind in ("list", "search") and not denied:
                    subjects = "[" + ",".join(f'"{s}"' for s in shown) + "]"
                    event_id = str(self.id + 1)
                    subject_lines.extend(f"{event_id}\t{s}\n" for s in shown)
                self.seq += 1
                self.id += 1
                if kind == "auth" or (denied and action not in ("photo.view", "form.view")):
                    data_class = 0  # the door records `want or 0` for a denial
                else:
                    data_class = dc
                outcome = "denied" if denied else "allowed"
                cid_json = f'"{cid}"' if cid else "null"
                ip_json = f'"{ip}"' if ip else "null"
                canonical = (
                    f'[{self.seq},"{at}",{actor_id},"{label}","{role}","{action}",{cid_json},'
                    f'"{code}","{loc}",{subjects},{data_class},"{purpose}",'
                    f'{"true" if glass else "false"},"{outcome}",{detail},{ip_json},"{ua}",'
                    f'"{rid}","{self.prev}"]')
                digest = sha(canonical.encode()).hexdigest()
                lines.append(
                    f"{self.id}\t{self.seq}\t{at}\t{actor_id if actor else NULL}\t{label}\t"
                    f"{role}\t{action}\t{cid or NULL}\t{code}\t{loc}\t{subjects}\t"
                    f"{data_class}\t{purpose}\t{'t' if glass else 'f'}\t{outcome}\t{detail}\t"
                    f"{ip or NULL}\t{ua}\t{rid}\t{self.prev}\t{digest}\n")
                if made % sample_every == 0 or made < 200:
                    self.samples.append(({
                        "seq": self.seq, "at": dt.datetime.fromisoformat(at),
                        "actor_id": actor[0] if actor else None, "actor_label": label,
                        "role": role, "action": action,
                        "client_id": uuid.UUID(cid) if cid else None, "client_code": code,
                        "location_code": loc, "subjects": json.loads(subjects),
                        "data_class": data_class, "purpose": purpose, "break_glass": glass,
                        "outcome": outcome, "detail": json.loads(detail), "ip": ip,
                        "user_agent": ua, "request_id": rid, "prev_hash": self.prev,
                    }, digest))
                self.prev = digest
                made += 1
                if len(lines) >= rows_per_chunk:
                    yield "".join(lines), "".join(subject_lines)
                    lines, subject_lines = [], []
        if lines:
            yield "".join(lines), "".join(subject_lines)

    def check(self) -> int:
        """Compare sampled rows with audit.chain.digest; raise on any difference."""
        from audit import chain

        for row, digest in self.samples:
            if chain.digest(row) != digest:
                raise SystemExit(f"synthetic event #{row['seq']}: the generator's canonical "
                                 f"form differs from audit.chain.canonical:\n"
                                 f"{chain.canonical(row).decode()}")
        return len(self.samples)


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


def bulk_load(n: int, *, seed: int, per_list: int) -> None:
    """COPY n synthetic events (and their list subjects) into the chain, in one transaction.

    Secondary indexes and foreign keys of the two tables are dropped first and made again
    after (the same definitions, read from the catalog), which is several times faster than
    maintaining them row by row; a failure rolls all of it back.
    """
    from zoneinfo import ZoneInfo

    from django.conf import settings
    from django.db import connection, transaction

    from audit import chain
    from audit.models import AccessEvent, ChainHead, SubjectIndexState

    staff = [(u.pk, u.username, u.staff.role, u.staff.location.code if u.staff.location else "")
             for u in ensure_staff().values()]
    staff.sort()
    head = ChainHead.objects.filter(pk=1).first()
    start_seq, start_hash = (head.seq, head.hash) if head else (0, chain.GENESIS)
    start_id = AccessEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    say(f"bulk-loading {n:,} synthetic events after #{start_seq} with COPY "
        f"({len(staff)} staff, {CLIENTS:,} clients, list events name {per_list} subjects)...")
    gen = EventGenerator(n=n, seed=seed, staff=staff, start_seq=start_seq, start_id=start_id,
                         start_hash=start_hash, per_list=per_list,
                         last_day=dt.date.today() - dt.timedelta(days=1),
                         tz=ZoneInfo(settings.TIME_ZONE))
    began = time.monotonic()
    tables = ("audit_accessevent", "audit_eventsubject")
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET LOCAL maintenance_work_mem = '1GB'")
        indexes, fkeys = [], []
        for table in tables:
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
        raw = connection.connection.cursor()
        done, subjects = 0, 0
        with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as subjects_file:
            with raw.copy(f"COPY audit_accessevent ({', '.join(AE_COLUMNS)}) FROM STDIN") as copy:
                for events, subject_text in gen.chunks():
                    copy.write(events)
                    subjects_file.write(subject_text)
                    subjects += subject_text.count("\n")
                    done += events.count("\n")
                    if done % 1_000_000 < 20_000 or done == n:
                        rate = done / (time.monotonic() - began)
                        say(f"  {done:>10,} / {n:,} events ({rate:,.0f}/s)")
            say(f"  {gen.check()} sampled events match audit.chain.digest; copying "
                f"{subjects:,} event subjects...")
            subjects_file.seek(0)
            # List subjects carry no code; the clients the events opened are indexed with
            # theirs, as audit.subject_index does (and migration audit.0006 did).
            cur.execute("ALTER TABLE audit_eventsubject ALTER COLUMN code SET DEFAULT ''")
            with raw.copy("COPY audit_eventsubject (event_id, client_id) FROM STDIN") as copy:
                while block := subjects_file.read(1 << 20):
                    copy.write(block)
            cur.execute("ALTER TABLE audit_eventsubject ALTER COLUMN code DROP DEFAULT")
            cur.execute("INSERT INTO audit_eventsubject (event_id, client_id, code) "
                        "SELECT id, client_id, client_code FROM audit_accessevent "
                        "WHERE client_id IS NOT NULL AND seq > %s", (start_seq,))
        say(f"  copied in {time.monotonic() - began:.0f}s; making {len(indexes)} indexes "
            f"again...")
        for name, definition in indexes:
            t0 = time.monotonic()
            cur.execute(definition)
            say(f"    {name} ({time.monotonic() - t0:.0f}s)")
        for table, name, definition in fkeys:
            cur.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        cur.execute("SELECT setval(pg_get_serial_sequence('audit_accessevent', 'id'), "
                    "(SELECT max(id) FROM audit_accessevent))")
        ChainHead.objects.update_or_create(pk=1, defaults={"seq": gen.seq, "hash": gen.prev})
        # The subjects were copied with their events: the index is complete up to the head.
        SubjectIndexState.objects.update_or_create(pk=1, defaults={"seq": gen.seq})
        cur.execute("INSERT INTO bench_audit_load (events, seed, per_list, seconds) "
                    "VALUES (%s, %s, %s, %s)", (n, seed, per_list, time.monotonic() - began))
    say("  committed; VACUUM ANALYZE...")
    with connection.cursor() as cur:
        for table in tables:
            cur.execute(f"VACUUM ANALYZE {table}")
    say(f"loaded {n:,} events (chain head #{gen.seq}) in {time.monotonic() - began:.0f}s")


# ======================================================================================
# a) Recording overhead
# ======================================================================================
def _stub_append(event) -> None:
    """audit.services._append without the database: the event gets a seq and hashes."""
    from audit import chain

    event.seq, event.prev_hash, event.hash = 0, chain.GENESIS, chain.GENESIS


@contextlib.contextmanager
def _patched_append(append):
    """audit.services._append replaced, and write-behind off so that every event goes
    through it."""
    from unittest import mock

    from django.test import override_settings

    from audit import services

    with override_settings(AUDIT_WRITE_BEHIND=False), \
            mock.patch.object(services, "_append", append):
        yield


def _orm_append(event) -> None:
    """The ORM append (SQLite's path; PostgreSQL's before the one-statement append): lock the
    head, insert the event and its subjects, move the head, commit: the comparison row."""
    from audit import services

    services._append_orm(event, "default")
    event._state.adding, event._state.db = False, "default"


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


def measure_recording(n: int, *, threads: int = 0, repeats: int = 1) -> dict:
    """Raw timings (seconds) of record() alone and of open_client with and without it."""
    import threading

    from django.db import connection, connections, transaction

    from access import door
    from access.models import Grant
    from audit import services
    from records import selectors

    users = ensure_staff()
    stylist = users["stylist"]
    granted = list(Grant.objects.filter(user=stylist, revoked_at__isnull=True)
                   .values_list("client_id", flat=True)[:300])
    if not granted:
        raise SystemExit("the stylist has no granted clients: seed more clients")
    clients = [selectors.client_for(stylist, pk) for pk in granted]

    def record(i: int) -> None:
        c = clients[i % len(clients)]
        services.record(actor=stylist, actor_label="stylist", role="stylist",
                        action="client.open", outcome="allowed", client_id=c.pk,
                        client_code=c.code, location_code=c.location.code, data_class=4,
                        purpose="view client record", detail={"granted": True})

    def opening(i: int) -> None:
        with door.open_client(user=stylist, client=clients[i % len(clients)],
                              purpose="view client record"):
            pass

    pg = connection.vendor == "postgresql"
    out: dict = {"engine": connection.vendor, "n": n, "record": [], "open_real": [],
                 "open_stub": [], "record_cpu": [], "record_in_tx": [], "commit": [],
                 "record_orm": [], "open_orm": []}
    started_at = services.ChainHead.objects.get(pk=1) if pg else None
    clock, cpu = time.perf_counter, time.thread_time
    with request_facts():
        for i in range(20):  # warm up: connections, caches, the chain head row
            record(i)
            opening(i)
        gc.collect()
        for i in range(n):
            began, began_cpu = clock(), cpu()
            record(i)
            out["record"].append(clock() - began)
            out["record_cpu"].append(cpu() - began_cpu)
        # The same inside an open transaction: what record() costs without its commit.
        gc.collect()
        with transaction.atomic():
            for i in range(n):
                began = clock()
                record(i)
                out["record_in_tx"].append(clock() - began)
        # The floor under any durable write: a one-row UPDATE and its commit.
        with connection.cursor() as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS bench_commit (id integer PRIMARY KEY, "
                        "n integer NOT NULL)")
            cur.execute("DELETE FROM bench_commit")
            cur.execute("INSERT INTO bench_commit VALUES (1, 0)")
            for _ in range(n):
                began = clock()
                cur.execute("UPDATE bench_commit SET n = n + 1 WHERE id = 1")
                out["commit"].append(clock() - began)
        if pg:  # the ORM append (as before the one-statement append), on its own
            with _patched_append(_orm_append):
                gc.collect()
                for i in range(n):
                    began = clock()
                    record(i)
                    out["record_orm"].append(clock() - began)
        gc.collect()
        variants = ("real", "stub", "orm") if pg else ("real", "stub")
        patches = {"stub": _stub_append, "orm": _orm_append}
        for i in range(n):
            # Rotate the order so that drift and caches favour no variant.
            k = i % len(variants)
            for variant in variants[k:] + variants[:k]:
                with (_patched_append(patches[variant]) if variant in patches
                      else contextlib.nullcontext()):
                    began = clock()
                    opening(i)
                    out[f"open_{variant}"].append(clock() - began)
    def concurrently(append) -> dict:
        # Several writers at once take turns on the chain head's row lock.
        per_thread = max(20, n // threads)
        latencies: list[float] = []
        lock = threading.Lock()

        def writer(k: int) -> None:
            mine = []
            with request_facts(f"{k:032x}"):
                for i in range(per_thread):
                    began = clock()
                    record(i * threads + k)
                    mine.append(clock() - began)
            connections.close_all()
            with lock:
                latencies.extend(mine)

        with _patched_append(append) if append else contextlib.nullcontext():
            began = clock()
            workers = [threading.Thread(target=writer, args=(k,)) for k in range(threads)]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
        return {"threads": threads, "seconds": clock() - began, "latencies": latencies}

    out.update(measure_pages(clients, stylist, n, repeats))
    if threads:
        out["concurrent"] = concurrently(None)
        if pg:
            out["concurrent_orm"] = concurrently(_orm_append)
    if pg:
        # Events naming subjects too; then every event written above, by either _append
        # (interleaved), must verify and the subjects must be indexed.
        from audit import chain, integrity, subject_index
        from audit.models import EventSubject

        with request_facts():
            listed = [services.record(actor=stylist, actor_label="stylist", role="stylist",
                                      action="client.list", outcome="allowed",
                                      subjects=[c.pk for c in clients[k:k + 10]],
                                      data_class=2, purpose="browse clients",
                                      detail={"page": k + 1}) for k in range(5)]
        subject_index.catch_up()  # the index is filled after the fact (beat, or a query)
        indexed = EventSubject.objects.filter(event_id__in=[e.id for e in listed]).count()
        verdict = chain.verify_stored(integrity._rows(started_at.seq),
                                      start_seq=started_at.seq, start_hash=started_at.hash)
        if not verdict.ok or indexed != 50:
            raise SystemExit(f"the events written in (a) do not verify: {verdict}"
                             f" ({indexed} of 50 subjects indexed)")
        out["verified"] = verdict.checked
    return out


def measure_pages(clients: list, stylist, n: int, repeats: int) -> dict:
    """The opening as the stylist sees it: her client's page, GET through every middleware
    (session, sign-in, gates, the request's audit facts), with the event written as shipped
    (write-behind), without write-behind, and with _append stubbed.

    The clients are those of hers with the most common number of treatments, so that every
    page does the same work: the p95 is then the pages' own tail, not the mix of long and
    short pages). Even so the p95 of a difference between two pages of 20 ms moves by about
    a millisecond from run to run on this kind of machine: the whole run is made `repeats`
    times and the median of the runs is the figure, with their range beside it."""
    from collections import Counter

    from django.db.models import Count
    from django.test import Client as HttpClient
    from django.test import override_settings
    from django.urls import reverse

    from records.models import Client

    counts = dict(Client.objects.filter(pk__in=[c.pk for c in clients])
                  .annotate(n=Count("treatments")).values_list("pk", "n"))
    common = Counter(counts.values()).most_common(1)[0][0]
    alike = [c for c in clients if counts[c.pk] == common]
    say(f"client pages: {len(alike)} of the stylist's clients with {common} treatments each")
    http = HttpClient(HTTP_USER_AGENT="Mozilla/5.0 (iPad) bench", REMOTE_ADDR="192.168.1.23")
    http.force_login(stylist)
    urls = [reverse("records:client_detail", args=[c.pk]) for c in alike]

    def page(i: int) -> None:
        response = http.get(urls[i % len(urls)])
        if response.status_code != 200:
            raise SystemExit(f"the client page answered {response.status_code}")

    variants = {
        "page_real": contextlib.nullcontext,
        "page_sync": lambda: override_settings(AUDIT_WRITE_BEHIND=False),
        "page_stub": lambda: _patched_append(_stub_append),
    }
    out: dict = {name: [] for name in variants}
    names = list(variants)
    clock = time.perf_counter
    for i in range(20):  # warm up: templates, translations, the side connection
        page(i)
    # As timeit does, the collector does not run inside a timing: a page allocates enough
    # that a full collection (several ms) lands in one variant or another by chance. It
    # runs between rounds instead.
    gc.collect()
    gc.disable()
    try:
        for _ in range(repeats):  # a whole run again: each variant's times, run by run
            for name in names:
                out[name].append([])
            for i in range(n):
                if i % 20 == 0:
                    gc.collect()
                k = i % len(names)
                for name in names[k:] + names[:k]:
                    with variants[name]():
                        began = clock()
                        page(i)
                        out[name][-1].append(clock() - began)
    finally:
        gc.enable()
    return out


def recording_rows(data: dict) -> None:
    engine, n = data["engine"], data["n"]
    name = {"postgresql": "PG", "sqlite": "SQLite"}.get(engine, engine)

    def both(values: list[float]) -> str:
        return f"{ms(median(values))} / {ms(p95(values))}"

    rec, real, stub = data["record"], data["open_real"], data["open_stub"]
    RESULTS.append(Result(f"[{name}] record() alone, p50 / p95 of {n}", both(rec), "—",
                          f"CPU p50 {ms(median(data['record_cpu']))}", "(information)", None))
    RESULTS.append(Result(f"[{name}] record() in an open transaction (no commit), p50 / p95",
                          both(data["record_in_tx"]), "—", "—", "(information)", None))
    RESULTS.append(Result(f"[{name}] one-row UPDATE + commit (durability floor), p50 / p95",
                          both(data["commit"]), "—", "—", "(information)", None))
    runs_real, runs_stub = data["page_real"], data["page_stub"]
    runs = len(runs_real)

    def added(stat, runs_a: list, runs_b: list) -> tuple[float, str]:
        each = sorted((stat(a) - stat(b)) * 1e3 for a, b in zip(runs_a, runs_b, strict=True))
        spread = f" (runs {each[0]:+.2f} … {each[-1]:+.2f})" if runs > 1 else ""
        return median(each), f"+{median(each):.2f} ms{spread}"

    def mid(stat, runs_x: list) -> str:
        return ms(median([stat(x) for x in runs_x]))

    of = f"median of {runs} runs of {len(runs_real[0])}" if runs > 1 else f"of {n}"
    _, text = added(median, runs_real, runs_stub)
    RESULTS.append(Result(f"[{name}] client page, recording vs _append stubbed, p50, {of}",
                          mid(median, runs_real), mid(median, runs_stub), text,
                          "(information)", None))
    page_added, text = added(p95, runs_real, runs_stub)
    RESULTS.append(Result(f"[{name}] client page, recording vs _append stubbed, p95, {of}",
                          mid(p95, runs_real), mid(p95, runs_stub), text,
                          f"≤ +{TARGET_RECORD_MS:g} ms", page_added <= TARGET_RECORD_MS))
    if name == "PG":
        runs_sync = data["page_sync"]
        RESULTS.append(Result(
            f"[{name}] client page, recording without write-behind vs stubbed, p50 / p95",
            f"{added(median, runs_sync, runs_stub)[1]} / {added(p95, runs_sync, runs_stub)[1]}",
            f"{mid(median, runs_stub)} / {mid(p95, runs_stub)}", "—", "(comparison)", None))
    RESULTS.append(Result(f"[{name}] open_client alone (nothing read inside), recording vs "
                          f"stubbed, p50 / p95", f"+{(median(real) - median(stub)) * 1e3:.2f} ms"
                          f" / +{(p95(real) - p95(stub)) * 1e3:.2f} ms", both(stub), "—",
                          "(information)", None))
    floor = p95(data["commit"]) * 1e3
    RESULTS.append(Result(f"[{name}] client page, added p95 against the durability floor's p95",
                          f"+{page_added:.2f} ms", f"{floor:.2f} ms floor",
                          f"{page_added / floor:.2f}× the floor", "(information)", None))
    if data.get("record_orm"):
        orm = data["open_orm"]
        RESULTS.append(Result(f"[{name}] record() with the ORM append (as before), p50 / p95",
                              both(data["record_orm"]), both(rec), "—", "(information)", None))
        orm_added = p95(orm) - p95(stub)
        RESULTS.append(Result(f"[{name}] open_client with the ORM append (as before) vs "
                              f"stubbed, p95", ms(p95(orm)), ms(p95(stub)),
                              f"+{orm_added * 1e3:.2f} ms", "(comparison)", None))
        RESULTS.append(Result(f"[{name}] events written in (a), both appends interleaved, "
                              f"verified (chain.verify_stored)", f"{data['verified']:,} ok",
                              "—", "—", "(check)", True))
    for key, what in (("concurrent", "record()"),
                      ("concurrent_orm", "record(), ORM append (as before),")):
        if conc := data.get(key):
            lat = conc["latencies"]
            RESULTS.append(Result(
                f"[{name}] {what} {conc['threads']} writers at once, p50 / p95", both(lat),
                f"{len(lat) / conc['seconds']:,.0f} events/s", "—", "(information)", None))


def sqlite_recording(args: argparse.Namespace, var_dir: Path) -> None:
    """Phase (a) on SQLite, in a child process (a process has one set of databases)."""
    child_dir = var_dir / "sqlite-recording"
    child_dir.mkdir(parents=True, exist_ok=True)
    out = child_dir / "recording.json"
    command = [sys.executable, str(Path(__file__).resolve()), "--child-sqlite", str(child_dir),
               "--record-n", str(args.record_n), "--clients", str(args.clients),
               "--page-runs", str(args.page_runs)]
    say("recording overhead on SQLite (child process)...")
    subprocess.run(command, check=True)  # noqa: S603 - our own script, fixed arguments
    recording_rows(json.loads(out.read_text()))


def child_sqlite(args: argparse.Namespace) -> None:
    child_dir = Path(args.child_sqlite)
    setup_django(child_dir)
    prepare_databases()
    ensure_staff()
    seed_clients(args.clients)
    data = measure_recording(args.record_n, repeats=args.page_runs)
    (child_dir / "recording.json").write_text(json.dumps(data))
    say(f"SQLite: record() p95 {ms(p95(data['record']))}")


def probe_subject_lookup() -> Result:
    """Does a client's history find a list event naming it once ids and seqs differ?

    `selectors.filtered` matches `seq__in=EventSubject...values("event_id")`, but
    EventSubject.event points at AccessEvent.id. On PostgreSQL a rolled-back event uses up
    an id (sequences are not transactional) but not a seq, so the two drift apart. This
    writes a few events inside a transaction that is rolled back at the end.
    """
    from django.db import transaction

    from audit import selectors, services

    class Undo(Exception):
        pass

    found: dict = {}
    try:
        with transaction.atomic():
            try:
                with transaction.atomic():
                    services.record(actor=None, actor_label="bench", action="bench.probe",
                                    outcome="allowed")
                    raise Undo
            except Undo:
                pass
            client_id, code = uuid.uuid4(), "ZZ-999999"
            opened = services.record(actor=None, actor_label="bench", action="client.open",
                                     outcome="allowed", client_id=client_id, client_code=code)
            listed = services.record(actor=None, actor_label="bench", action="client.list",
                                     outcome="allowed", subjects=[client_id])
            history = {e.pk for e in selectors.filtered({"client_code": code})}
            found = {"opened": opened.pk in history, "listed": listed.pk in history,
                     "drift": listed.pk - listed.seq}
            raise Undo
    except Undo:
        pass
    ok = found["listed"]
    return Result("client history finds a list event naming the client after a rolled-back "
                  "event (id − seq = {drift})".format(**found),
                  "found" if ok else "MISSING", "found", "—", "found", ok)


# ======================================================================================
# b) The auditor's queries
# ======================================================================================
class PreviousSelectors:
    """audit.selectors as they were before the queries were made indexable (commit
    eb8dc0c), kept here as the baseline measured in the same run, on the same database
    and indexes: case-insensitive code matches, DISTINCT ... LIMIT 5 for the client's ids,
    a subquery for list appearances inside the OR, no seq bounds for a time range and
    `at__date` for the per-day chart."""

    @staticmethod
    def client_ids_for_code(code: str) -> list[uuid.UUID]:
        from django.conf import settings
        from django.utils.module_loading import import_string

        from audit.models import AccessEvent

        ids = set(AccessEvent.objects.filter(client_code__iexact=code, client_id__isnull=False)
                  .values_list("client_id", flat=True).distinct()[:5])
        lookup = getattr(settings, "AUDIT_CLIENT_LOOKUP", "")
        if lookup:
            ids |= set(import_string(lookup)(code))
        return sorted(ids)

    @classmethod
    def filtered(cls, data: dict):
        from django.db.models import Q

        from audit.models import AccessEvent, EventSubject

        qs = AccessEvent.objects.all()
        if data.get("person"):
            qs = qs.filter(actor=data["person"])
        if data.get("client_code"):
            ids = cls.client_ids_for_code(data["client_code"])
            qs = qs.filter(Q(client_id__in=ids)
                           | Q(pk__in=EventSubject.objects.filter(client_id__in=ids)
                               .values("event_id"))
                           | Q(client_code__iexact=data["client_code"]))
        if data.get("action"):
            qs = qs.filter(action__startswith=data["action"])
        if data.get("data_class") not in (None, ""):
            qs = qs.filter(data_class=data["data_class"])
        if data.get("outcome"):
            qs = qs.filter(outcome=data["outcome"])
        if data.get("break_glass") in ("yes", "no"):
            qs = qs.filter(break_glass=data["break_glass"] == "yes")
        if data.get("location"):
            qs = qs.filter(location_code__iexact=data["location"])
        if data.get("since"):
            qs = qs.filter(at__gte=data["since"])
        if data.get("until"):
            qs = qs.filter(at__lt=data["until"])
        return qs.order_by("-seq")

    @staticmethod
    def page(qs, before):
        from audit import selectors

        return selectors.page(qs, before)

    @staticmethod
    def per_day(qs, days: int = 30, *, today: dt.date) -> list[dict]:
        from django.db.models import Count
        from django.db.models.functions import TruncDate

        since = today - dt.timedelta(days=days - 1)
        counts = dict(qs.order_by().filter(at__date__gte=since).annotate(day=TruncDate("at"))
                      .values_list("day").annotate(n=Count("id")).values_list("day", "n"))
        return [{"day": since + dt.timedelta(days=i),
                 "n": counts.get(since + dt.timedelta(days=i), 0)} for i in range(days)]

    @staticmethod
    def with_bars(rows):
        from audit import selectors

        return selectors.with_bars(rows)


class Context:
    """What the queries pick from: people, client codes that have events, weeks."""

    def __init__(self) -> None:
        from django.db import connection

        from audit.models import AccessEvent

        self.people = [u.pk for u in ensure_staff().values()]
        with connection.cursor() as cur:
            rows = _sql(cur, "SELECT DISTINCT client_code FROM audit_accessevent "
                             "TABLESAMPLE SYSTEM (0.2) WHERE client_code LIKE '__-1%%' LIMIT 400")
        self.codes = sorted(r[0] for r in rows)
        first, last = (AccessEvent.objects.filter(client_code__startswith="BJ-1")
                       .order_by(o).values_list("at", flat=True).first() for o in ("seq", "-seq"))
        self.first_day, self.last_day = first.date(), last.date()
        self.head = AccessEvent.objects.order_by("-seq").values_list("seq", flat=True).first()

    def week(self, rng: random.Random) -> dict:
        days = (self.last_day - self.first_day).days - 7
        since = self.first_day + dt.timedelta(days=rng.randint(1, max(1, days)))
        return {"since": f"{since.isoformat()}T00:00",
                "until": f"{(since + dt.timedelta(days=7)).isoformat()}T00:00"}


ACTION_PREFIXES = ("client.open", "photo", "auth", "client", "grant", "break_glass",
                   "audit.export")
FILTERS = (
    ("filter: none", lambda c, r: {}),
    ("filter: person", lambda c, r: {"person": str(r.choice(c.people))}),
    ("filter: client code", lambda c, r: {"client_code": r.choice(c.codes)}),
    ("filter: action prefix (7 prefixes)", lambda c, r: {"action": r.choice(ACTION_PREFIXES)}),
    ("filter: outcome denied", lambda c, r: {"outcome": "denied"}),
    ("filter: break-glass yes", lambda c, r: {"break_glass": "yes"}),
    ("filter: location", lambda c, r: {"location": r.choice(("bj", "sh"))}),
    ("filter: time range (a week)", lambda c, r: c.week(r)),
    ("filter: person + time range", lambda c, r: {"person": str(r.choice(c.people))} | c.week(r)),
    ("filter: client code + action (3 prefixes)",
     lambda c, r: {"client_code": r.choice(c.codes),
                   "action": r.choice(("client.open", "photo", "client"))}),
)


def _clean(params: dict) -> dict:
    from audit.forms import EventFilterForm

    form = EventFilterForm(params)
    if not form.is_valid():
        raise SystemExit(f"filter {params} is not valid: {form.errors}")
    return form.cleaned_data


def _time_runs(calls: list, budget: float) -> tuple[list[float], object]:
    """Time calls[2:] one by one after warming up on calls[0] and calls[1]; a query that
    takes long gets fewer runs: stop once `budget` seconds are spent (at least 3 runs).
    Returns the times and what the first timed call showed (to compare variants)."""
    began = time.perf_counter()
    calls[0]()
    spent = time.perf_counter() - began
    if spent < budget / 20:
        calls[1]()
    times: list[float] = []
    shown = None
    for call in calls[2:]:
        began = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - began)
        if shown is None:
            shown = _shown(result)
        if spent + sum(times) > budget and len(times) >= 3:
            break
    return times, shown


def _shown(result):
    """What a page or chart shows, comparable across selector variants."""
    if isinstance(result, tuple):  # (rows, older) of page()
        return [e.pk for e in result[0]], result[1]
    return result


def _measures(ctx: Context, sel, runs: int, rng_seed: int):
    """(name, list of calls) for every auditor query, with `sel` as the selectors module."""
    from django.utils import timezone

    from audit.models import AccessEvent

    out = []
    for i, (name, build) in enumerate(FILTERS):
        rng = random.Random(rng_seed + i)
        calls = []
        for k in range(runs + 2):
            data = _clean(build(ctx, rng))
            # Every third run pages deep into the log ("older" links), the rest the first page.
            before = rng.randint(ctx.head // 20, ctx.head) if k % 3 == 2 else None
            calls.append(lambda data=data, before=before: sel.page(sel.filtered(data), before))
        out.append((name, calls))
    rng = random.Random(rng_seed + 100)

    def history(code: str):
        # audit.views.client_history: the ids for the code, then the events page.
        sel.client_ids_for_code(code)
        return sel.page(sel.filtered(_clean({"client_code": code})), None)

    codes = [rng.choice(ctx.codes) for _ in range(runs + 2)]
    out.append(("client history view",
                [lambda code=code: history(code) for code in codes]))
    people = [ctx.people[k % len(ctx.people)] for k in range(runs + 2)]
    rng.shuffle(people)

    def chart(person: int):
        # audit.views.person_timeline: the 30-day chart of one person's events.
        return sel.with_bars(sel.per_day(AccessEvent.objects.filter(actor_id=person),
                                         today=timezone.localdate()))

    out.append(("per_day chart, one person",
                [lambda p=p: chart(p) for p in people]))
    return out


def _filter_row(name: str, times: list[float], note: str = "", baseline: str = "—") -> Result:
    worst = p95(times)
    return Result(f"{name}{note}, p50 / p95 of {len(times)}",
                  f"{ms(median(times))} / {ms(worst)}", baseline, "—",
                  f"p95 < {TARGET_FILTER_MS:g} ms", worst * 1e3 < TARGET_FILTER_MS)


def _explain(sel, data: dict) -> str:
    plan = sel.filtered(_clean(data)).select_related("actor")[:51].explain(analyze=True)
    return "\n".join("      " + line for line in plan.splitlines()[:14])


# The queries that missed their target before they were made indexable; the bench measures
# them again with PreviousSelectors, in the same run, as the baseline.
PREVIOUSLY_MISSED = ("filter: client code", "filter: time range (a week)",
                     "filter: client code + action (3 prefixes)", "client history view",
                     "per_day chart, one person")


def measure_filters(args: argparse.Namespace) -> None:
    from audit import selectors
    from audit.models import AccessEvent

    total = AccessEvent.objects.count()
    say(f"b) auditor queries over {total:,} events: {args.runs} runs each...")
    ctx = Context()
    budget = 20.0 if not args.quick else 10.0
    ours: dict[str, list[float]] = {}
    shown: dict[str, object] = {}
    for name, calls in _measures(ctx, selectors, args.runs, 7):
        times, shown[name] = _time_runs(calls, budget)
        ours[name] = times
        say(f"  {name}: p50 {ms(median(times))}, p95 {ms(p95(times))}")
    before: dict[str, list[float]] = {}
    compared = 0
    if "previous" not in args.skip:
        say("  the same queries with the previous selectors (the baseline); their first "
            "page is checked to be the same...")
        for name, calls in _measures(ctx, PreviousSelectors, args.runs, 7):
            if name not in PREVIOUSLY_MISSED:
                continue
            times, result = _time_runs(calls, budget / 2)
            if result != shown[name]:
                raise SystemExit(f"{name}: the previous selectors show another first page\n"
                                 f"{result}\n{shown[name]}")
            compared += 1
            before[name] = times
            say(f"  {name} — previous selectors: p50 {ms(median(times))}, "
                f"p95 {ms(p95(times))}")
    for name, times in ours.items():
        base = before.get(name)
        RESULTS.append(_filter_row(name, times, baseline=(
            f"p95 {ms(p95(base))} before (of {len(base)})" if base else "—")))
    if compared:
        RESULTS.append(Result(f"previous selectors show the same first page ({compared} "
                              f"queries compared)", "same", "—", "—", "(check)", True))
    RESULTS.append(explain_check(ctx))


def explain_check(ctx: Context) -> Result:
    """Every filter's first page, planned on this database: none may read the whole event
    table (a Seq Scan on audit_accessevent)."""
    from audit import selectors

    samples = {name: build(ctx, random.Random(3)) for name, build in FILTERS}
    samples["client history (list appearances)"] = {"client_code": ctx.codes[-1].lower()}
    scans = []
    for name, data in samples.items():
        plan = selectors.filtered(_clean(data)).select_related("actor")[:51].explain()
        if "Seq Scan on audit_accessevent" in plan:
            scans.append(name)
            print(f"    -- {name}: {data}\n" + "\n".join(
                "      " + line for line in plan.splitlines()[:14]))
    from django.db.models import Count
    from django.db.models.functions import TruncDate
    from django.utils import timezone

    from audit.models import AccessEvent

    start = timezone.make_aware(dt.datetime.combine(
        timezone.localdate() - dt.timedelta(days=29), dt.time()))
    chart = (AccessEvent.objects.filter(actor_id=ctx.people[0]).order_by()
             .filter(at__gte=start).annotate(day=TruncDate("at")).values_list("day")
             .annotate(n=Count("*")).explain())
    samples["per_day chart, one person"] = {}
    if "Seq Scan on audit_accessevent" in chart:
        scans.append("per_day chart, one person")
    say(f"  EXPLAIN: {len(samples) - len(scans)} of {len(samples)} filters use indexes only")
    return Result(f"EXPLAIN: filters that read the whole event table ({len(samples)} planned)",
                  ", ".join(scans) or "none", "—", "—", "none", not scans)


# ======================================================================================
# c) audit_verify throughput
# ======================================================================================
def previous_rows(after: int):
    """integrity._rows as it was (the baseline): the ORM's values_list, a dict per row."""
    from audit import chain
    from audit.models import AccessEvent

    names = (*chain.FIELDS, "hash")
    last = after
    while True:
        batch = list(AccessEvent.objects.filter(seq__gt=last).order_by("seq")
                     .values_list(*names)[:20_000])
        if not batch:
            return
        for values in batch:
            yield dict(zip(names, values, strict=True))
        last = batch[-1][0]


def previous_verify(rows, *, start_seq: int, start_hash: str):
    """chain.verify_rows as it was (the baseline): json.dumps per event."""
    from audit import chain

    expected_seq, expected_prev, checked = start_seq + 1, start_hash, 0
    for row in rows:
        values = [row[name] for name in chain.FIELDS]
        values[1] = values[1].astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        values[6] = str(values[6]) if values[6] is not None else None
        text = json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                          default=str).encode()
        if (row["seq"] != expected_seq or row["prev_hash"] != expected_prev
                or hashlib.sha256(text).hexdigest() != row["hash"]):
            return chain.Verdict(False, checked, row["seq"], f"#{row['seq']} does not verify")
        expected_seq, expected_prev, checked = row["seq"] + 1, row["hash"], checked + 1
    return chain.Verdict(True, checked, None, f"{checked} events verified")


def _rate_row(what: str, checked: int, seconds: float, baseline: str = "—",
              ratio: str = "—", target: bool = True) -> Result:
    rate = checked / seconds
    return Result(what, f"{rate:,.0f} events/s", baseline, ratio or f"{seconds:.1f} s",
                  f"≥ {TARGET_VERIFY:,}/s" if target else "(information)",
                  rate >= TARGET_VERIFY if target else None)


def measure_verify(args: argparse.Namespace) -> None:
    from audit import chain, integrity, services
    from audit.models import ChainHead, Checkpoint, VerificationRun

    head = ChainHead.objects.get(pk=1).seq
    if Checkpoint.objects.exists():
        raise SystemExit("the bench chain has a checkpoint; the bench expects none")
    n = min(head, args.verify_events) if args.verify_events > 0 else head
    say(f"c) audit_verify over {head:,} events; the previous loop over the first {n:,}...")
    gc.collect()
    began = time.perf_counter()
    verdict = previous_verify(itertools.islice(previous_rows(0), n), start_seq=0,
                              start_hash=chain.GENESIS)
    old_seconds = time.perf_counter() - began
    if not verdict.ok or verdict.checked != n:
        raise SystemExit(f"the chain does not verify: {verdict}")
    old_rate = n / old_seconds
    say(f"  previous loop: {old_rate:,.0f} events/s ({old_seconds:.1f}s)")

    # The same canonical bytes: the product's reader + formatter against the previous one.
    sample = list(itertools.islice(previous_rows(0), 20_000))
    stored = list(itertools.islice(integrity._rows(0), 20_000))
    same = sum(chain.stored(o) + (o["hash"],) == r for o, r in zip(sample, stored, strict=True))
    tampered = list(stored[:100])
    tampered[50] = (*tampered[50][:11], tampered[50][11] + "x", *tampered[50][12:])
    caught = chain.verify_stored(iter(tampered), start_seq=0, start_hash=chain.GENESIS)
    if same != len(sample) or caught.ok or caught.first_bad_seq != tampered[50][0]:
        raise SystemExit(f"the verifier reads other values: {same} of {len(sample)} rows "
                         f"identical, tampering verdict {caught}")
    RESULTS.append(Result("verifier: stored rows identical to the ORM's, an altered event "
                          "caught", f"{same:,} identical", "—", "—", "(check)", True))

    profiled = min(head, 20_000)
    profiler = cProfile.Profile()
    profiler.enable()
    chain.verify_stored(itertools.islice(integrity._rows(0), profiled), start_seq=0,
                        start_hash=chain.GENESIS)
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = stats.total_tt
    print(f"\n--- cProfile of the verifier's loop over {profiled:,} events "
          f"({total / profiled * 1e6:.0f} µs per event under the profiler) ---")
    rows = []
    for (path, line, func), (_cc, ncalls, tottime, cumtime, _callers) in stats.stats.items():
        short = path.replace(str(ROOT) + "/", "").replace(sys.prefix + "/", "")
        rows.append((cumtime, tottime, ncalls, f"{short}:{line}({func})"))
    print(f"{'cum %':>6} {'own %':>6} {'calls/event':>11}  function")
    for cumtime, tottime, ncalls, where in sorted(rows, reverse=True)[:14]:
        print(f"{cumtime / total * 100:6.1f} {tottime / total * 100:6.1f} "
              f"{ncalls / profiled:11.1f}  {where}")
    print()

    ratio = f"{{:.1f}}× the previous ({old_rate:,.0f}/s)"
    for workers in sorted({1, args.verify_workers}):
        gc.collect()
        began = time.perf_counter()
        run = integrity.verify_and_record(full=True, workers=workers)
        seconds = time.perf_counter() - began
        if not run.ok or run.checked != head:
            raise SystemExit(f"audit_verify --full does not verify the chain: {run.message}")
        # The target is the command as it runs (one worker per core by default); one worker
        # alone is shown for information.
        default = workers == args.verify_workers
        label = (f"audit_verify --full (default: one worker per core, here {workers})"
                 if default else f"audit_verify --full --workers {workers}")
        RESULTS.append(_rate_row(
            f"{label}: all {head:,} events", head, seconds,
            f"{seconds:.1f} s", ratio.format(head / seconds / old_rate), target=default))
        say(f"  --full, {workers} worker(s): {head / seconds:,.0f} events/s ({seconds:.1f}s)")

    # The nightly run: from the last signed link, after a day's worth of new events.
    users = ensure_staff()
    new = args.incremental_events
    with request_facts():
        for i in range(new):
            services.record(actor=users["stylist"], actor_label="stylist", role="stylist",
                            action="client.open", outcome="allowed", data_class=4,
                            client_code=f"BJ-{100_001 + i % 1000:06d}",
                            purpose="view client record", detail={"granted": True})
    began = time.perf_counter()
    run = integrity.verify_and_record(full=False, workers=1)
    seconds = time.perf_counter() - began
    if not run.ok or run.full or run.checked != new:
        raise SystemExit(f"the incremental run did not verify {new} events: {run.message}")
    RESULTS.append(Result(f"audit_verify (nightly, incremental) after {new:,} new events",
                          f"{seconds * 1e3:,.0f} ms", f"from #{run.start_seq:,}",
                          f"{VerificationRun.objects.count()} runs recorded",
                          "(information)", None))


# ======================================================================================
# main
# ======================================================================================
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help=f"a fast check: {QUICK_EVENTS:,} events, fewer runs")
    parser.add_argument("--keep", metavar="DIR", type=Path,
                        help="use DIR as SALON_VAULT_VAR and keep it and the databases: a "
                             "second run reuses the loaded events (default: a temp dir and "
                             "fresh databases, removed at the end)")
    parser.add_argument("--events", type=int, default=None,
                        help=f"synthetic events to load (default {FULL_EVENTS:,}, --quick "
                             f"{QUICK_EVENTS:,})")
    parser.add_argument("--per-list", type=int, default=10,
                        help="clients named by each synthetic list event (default 10)")
    parser.add_argument("--runs", type=int, default=None,
                        help="runs per auditor query (default 30, --quick 10)")
    parser.add_argument("--record-n", type=int, default=None,
                        help="recordings and openings timed per variant (default 500, "
                             "--quick 200)")
    parser.add_argument("--page-runs", type=int, default=None,
                        help="runs of the client-page timings, the median run reported "
                             "(default 5, --quick 2)")
    parser.add_argument("--clients", type=int, default=None,
                        help="real clients seeded for the openings (default 1000, --quick 300)")
    parser.add_argument("--verify-events", type=int, default=None,
                        help="events the previous verifier (the baseline) checks "
                             "(default 1,000,000; 0: the whole chain)")
    parser.add_argument("--verify-workers", type=int, default=os.cpu_count() or 1,
                        help="processes for audit_verify --full (default: one per core; it "
                             "is also measured with 1)")
    parser.add_argument("--incremental-events", type=int, default=1000,
                        help="events appended before the incremental run (default 1,000)")
    parser.add_argument("--skip", default="",
                        help="comma-separated phases to leave out: a (recording), b "
                             "(filters), c (verify), sqlite, previous (the previous "
                             "selectors' baseline)")
    parser.add_argument("--markdown", action="store_true", help="also print a Markdown table")
    parser.add_argument("--child-sqlite", metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.events = args.events or (QUICK_EVENTS if args.quick else FULL_EVENTS)
    args.runs = args.runs or (10 if args.quick else 30)
    args.record_n = args.record_n or (200 if args.quick else 500)
    args.clients = args.clients or (300 if args.quick else 1000)
    args.page_runs = args.page_runs or (2 if args.quick else 5)
    if args.verify_events is None:
        args.verify_events = QUICK_EVENTS if args.quick else 1_000_000
    args.skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.child_sqlite:
        child_sqlite(args)
        return
    var_dir = args.keep.resolve() if args.keep else Path(tempfile.mkdtemp(
        prefix="salon-vault-bench-audit-"))
    var_dir.mkdir(parents=True, exist_ok=True)
    names = ("sv_bench_audit_quick", "sv_bench_audit_quick_keys") if args.quick else (
        "sv_bench_audit", "sv_bench_audit_keys")
    # The keys database matches the keyring in var_dir: without --keep, or with a new
    # --keep directory, both databases start empty.
    fresh = not args.keep or not (var_dir / "keyring.json").exists()
    for name in names:
        pg_create(name, fresh=fresh or not pg_exists(names[1]))
    setup_django(var_dir, database=pg_url(names[0]), vault_database=pg_url(names[1]))

    import django
    from django.db import connection, connections

    load_before = os.getloadavg()
    measured_code = code_version()  # what this process imports, not what HEAD is at the end
    say(f"Salon Vault audit benchmark: {args.events:,} events, SALON_VAULT_VAR={var_dir}, "
        f"PostgreSQL databases {names[0]}, {names[1]}")
    try:
        prepare_databases()
        ensure_staff()
        have = loaded_events()
        if have < args.events:
            bulk_load(args.events - have, seed=1 + have, per_list=args.per_list)
        else:
            say(f"reusing {have:,} loaded synthetic events")
        seed_clients(args.clients)
        with connection.cursor() as cur:
            cur.execute("CHECKPOINT")  # write out the load now, not during the timings
        load_before = os.getloadavg()
        if "a" not in args.skip:
            say(f"a) recording overhead on PostgreSQL: {args.record_n} per variant...")
            recording_rows(measure_recording(args.record_n, threads=4,
                                             repeats=args.page_runs))
            RESULTS.append(probe_subject_lookup())
            if "sqlite" not in args.skip:
                sqlite_recording(args, var_dir)
        if "b" not in args.skip:
            measure_filters(args)
        if "c" not in args.skip:
            measure_verify(args)
    finally:
        connections.close_all()
        if not args.keep:
            for name in names:
                pg_drop(name)
            shutil.rmtree(var_dir, ignore_errors=True)

    print()
    print(f"Salon Vault audit benchmark — {dt.date.today().isoformat()}, {args.events:,} "
          f"synthetic events, PostgreSQL (SQLite for the rows so marked), {os.cpu_count()} "
          f"cores, Python {platform.python_version()}, Django {django.get_version()}")
    print(f"code: {measured_code}")
    print(f"load average (1 min) when the timings began {load_before[0]:.1f}, at the end "
          f"{os.getloadavg()[0]:.1f}; p95 = nearest rank")
    print()
    report(RESULTS, markdown=args.markdown)

if __name__ == "__main__":
    main()
