"""a) The rows of the recording measures, phase (a) on SQLite in a child process, and the
check that a client's history finds list events after a rolled-back event."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import uuid
from pathlib import Path

from bench.audit_log import (
    RESULTS,
    TARGET_RECORD_MS,
)
from bench.audit_log.loading import seed_clients
from bench.audit_log.recording import measure_recording
from bench.common import ROOT, Result, median, ms, p95, say
from bench.salon import copy_template, ensure_staff, prepare_databases, setup_django


def recording_rows(data: dict) -> None:
    """The rows of phase (a) on one engine, from measure_recording's raw timings."""
    name = {"postgresql": "PG", "sqlite": "SQLite"}.get(data["engine"], data["engine"])
    _record_rows(name, data)
    page_added = _page_rows(name, data)
    real, stub = data["open_real"], data["open_stub"]
    RESULTS.append(Result(f"[{name}] open_client alone (nothing read inside), recording vs "
                          f"stubbed, p50 / p95", f"+{(median(real) - median(stub)) * 1e3:.2f} ms"
                          f" / +{(p95(real) - p95(stub)) * 1e3:.2f} ms", _both(stub), "—",
                          "(information)", None))
    floor = p95(data["commit"]) * 1e3
    RESULTS.append(Result(f"[{name}] client page, added p95 against the durability floor's p95",
                          f"+{page_added:.2f} ms", f"{floor:.2f} ms floor",
                          f"{page_added / floor:.2f}× the floor", "(information)", None))
    if data.get("record_orm"):
        _orm_rows(name, data)
    _concurrent_rows(name, data)


def _both(values: list[float]) -> str:
    return f"{ms(median(values))} / {ms(p95(values))}"


def _added(stat, runs_a: list, runs_b: list) -> tuple[float, str]:
    """What a statistic of runs_a adds to runs_b's, run by run: the median and the range."""
    each = sorted((stat(a) - stat(b)) * 1e3 for a, b in zip(runs_a, runs_b, strict=True))
    spread = f" (runs {each[0]:+.2f} … {each[-1]:+.2f})" if len(each) > 1 else ""
    return median(each), f"+{median(each):.2f} ms{spread}"


def _mid(stat, runs: list) -> str:
    return ms(median([stat(run) for run in runs]))


def _record_rows(name: str, data: dict) -> None:
    RESULTS.append(Result(f"[{name}] record() alone, p50 / p95 of {data['n']}",
                          _both(data["record"]), "—",
                          f"CPU p50 {ms(median(data['record_cpu']))}", "(information)", None))
    RESULTS.append(Result(f"[{name}] record() in an open transaction (no commit), p50 / p95",
                          _both(data["record_in_tx"]), "—", "—", "(information)", None))
    RESULTS.append(Result(f"[{name}] one-row UPDATE + commit (durability floor), p50 / p95",
                          _both(data["commit"]), "—", "—", "(information)", None))


def _page_rows(name: str, data: dict) -> float:
    """The stylist's client page with and without recording; returns the p95 it adds."""
    runs_real, runs_stub = data["page_real"], data["page_stub"]
    runs = len(runs_real)
    of = f"median of {runs} runs of {len(runs_real[0])}" if runs > 1 else f"of {data['n']}"
    _, text = _added(median, runs_real, runs_stub)
    RESULTS.append(Result(f"[{name}] client page, recording vs _append stubbed, p50, {of}",
                          _mid(median, runs_real), _mid(median, runs_stub), text,
                          "(information)", None))
    page_added, text = _added(p95, runs_real, runs_stub)
    RESULTS.append(Result(f"[{name}] client page, recording vs _append stubbed, p95, {of}",
                          _mid(p95, runs_real), _mid(p95, runs_stub), text,
                          f"≤ +{TARGET_RECORD_MS:g} ms", page_added <= TARGET_RECORD_MS))
    if name == "PG":
        runs_sync = data["page_sync"]
        RESULTS.append(Result(
            f"[{name}] client page, recording without write-behind vs stubbed, p50 / p95",
            f"{_added(median, runs_sync, runs_stub)[1]} / {_added(p95, runs_sync, runs_stub)[1]}",
            f"{_mid(median, runs_stub)} / {_mid(p95, runs_stub)}", "—", "(comparison)", None))
    return page_added


def _orm_rows(name: str, data: dict) -> None:
    orm, stub = data["open_orm"], data["open_stub"]
    RESULTS.append(Result(f"[{name}] record() with the ORM append (as before), p50 / p95",
                          _both(data["record_orm"]), _both(data["record"]), "—",
                          "(information)", None))
    RESULTS.append(Result(f"[{name}] open_client with the ORM append (as before) vs "
                          f"stubbed, p95", ms(p95(orm)), ms(p95(stub)),
                          f"+{(p95(orm) - p95(stub)) * 1e3:.2f} ms", "(comparison)", None))
    RESULTS.append(Result(f"[{name}] events written in (a), both appends interleaved, "
                          f"verified (chain.verify_stored)", f"{data['verified']:,} ok",
                          "—", "—", "(check)", True))


def _concurrent_rows(name: str, data: dict) -> None:
    for key, what in (("concurrent", "record()"),
                      ("concurrent_orm", "record(), ORM append (as before),")):
        if conc := data.get(key):
            lat = conc["latencies"]
            RESULTS.append(Result(
                f"[{name}] {what} {conc['threads']} writers at once, p50 / p95", _both(lat),
                f"{len(lat) / conc['seconds']:,.0f} events/s", "—", "(information)", None))


def sqlite_recording(args: argparse.Namespace, var_dir: Path) -> None:
    """Phase (a) on SQLite, in a child process (a process has one set of databases)."""
    child_dir = var_dir / "sqlite-recording"
    child_dir.mkdir(parents=True, exist_ok=True)
    out = child_dir / "recording.json"
    command = [sys.executable, str(ROOT / "bench" / "audit.py"), "--child-sqlite", str(child_dir),
               "--record-n", str(args.record_n), "--clients", str(args.clients),
               "--page-runs", str(args.page_runs)]
    say("recording overhead on SQLite (child process)...")
    subprocess.run(command, check=True)  # noqa: S603 - our own script, fixed arguments
    recording_rows(json.loads(out.read_text()))


def child_sqlite(args: argparse.Namespace) -> None:
    child_dir = Path(args.child_sqlite)
    copy_template(child_dir)
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
