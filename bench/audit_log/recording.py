"""a) Recording overhead: record() alone, an opening, and the stylist's client page with
the event written as shipped, without write-behind, and with _append stubbed."""

from __future__ import annotations

import contextlib
import gc
import time

from bench.common import say
from bench.salon import ensure_staff, request_facts, verify_second_factor


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


class Recorder:
    """The stylist's recordings and openings of her granted clients, timed."""

    def __init__(self, n: int) -> None:
        from access.models import Grant
        from records import selectors

        self.n = n
        self.stylist = ensure_staff()["stylist"]
        granted = list(Grant.objects.filter(user=self.stylist, revoked_at__isnull=True)
                       .values_list("client_id", flat=True)[:300])
        if not granted:
            raise SystemExit("the stylist has no granted clients: seed more clients")
        self.clients = [selectors.client_for(self.stylist, pk) for pk in granted]

    def record(self, i: int) -> None:
        from audit import services

        c = self.clients[i % len(self.clients)]
        services.record(actor=self.stylist, actor_label="stylist", role="stylist",
                        action="client.open", outcome="allowed", client_id=c.pk,
                        client_code=c.code, location_code=c.location.code, data_class=4,
                        purpose="view client record", detail={"granted": True})

    def opening(self, i: int) -> None:
        from access import door

        with door.open_client(user=self.stylist, client=self.clients[i % len(self.clients)],
                              purpose="view client record"):
            pass

    def each(self, fn, cpu: list[float] | None = None) -> list[float]:
        """Wall time of fn(i) for i in range(n); CPU time too when `cpu` is given."""
        clock, thread_time, times = time.perf_counter, time.thread_time, []
        gc.collect()
        for i in range(self.n):
            began, began_cpu = clock(), thread_time()
            fn(i)
            times.append(clock() - began)
            if cpu is not None:
                cpu.append(thread_time() - began_cpu)
        return times

    def commit_floor(self) -> list[float]:
        """The floor under any durable write: a one-row UPDATE and its commit."""
        from django.db import connection

        with connection.cursor() as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS bench_commit (id integer PRIMARY KEY, "
                        "n integer NOT NULL)")
            cur.execute("DELETE FROM bench_commit")
            cur.execute("INSERT INTO bench_commit VALUES (1, 0)")
            return self.each(lambda _i: cur.execute(
                "UPDATE bench_commit SET n = n + 1 WHERE id = 1"))

    def openings(self, variants: tuple[str, ...]) -> dict[str, list[float]]:
        """The opening as shipped (real), with _append stubbed and with the ORM append."""
        patches = {"stub": _stub_append, "orm": _orm_append}
        out: dict[str, list[float]] = {f"open_{v}": [] for v in variants}
        gc.collect()
        for i in range(self.n):
            # Rotate the order so that drift and caches favour no variant.
            k = i % len(variants)
            for variant in variants[k:] + variants[:k]:
                with (_patched_append(patches[variant]) if variant in patches
                      else contextlib.nullcontext()):
                    began = time.perf_counter()
                    self.opening(i)
                    out[f"open_{variant}"].append(time.perf_counter() - began)
        return out

    def concurrently(self, append, threads: int) -> dict:
        """Several writers at once take turns on the chain head's row lock."""
        import threading

        from django.db import connections

        per_thread = max(20, self.n // threads)
        latencies: list[float] = []
        lock = threading.Lock()

        def writer(k: int) -> None:
            mine = []
            with request_facts(f"{k:032x}"):
                for i in range(per_thread):
                    began = time.perf_counter()
                    self.record(i * threads + k)
                    mine.append(time.perf_counter() - began)
            connections.close_all()
            with lock:
                latencies.extend(mine)

        with _patched_append(append) if append else contextlib.nullcontext():
            began = time.perf_counter()
            workers = [threading.Thread(target=writer, args=(k,)) for k in range(threads)]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
        return {"threads": threads, "seconds": time.perf_counter() - began,
                "latencies": latencies}

    def verified(self, started_at) -> int:
        """Events naming subjects too; then every event written since `started_at`, by either
        _append (interleaved), must verify and the subjects must be indexed."""
        from audit import chain, integrity, services, subject_index
        from audit.models import EventSubject

        with request_facts():
            listed = [services.record(actor=self.stylist, actor_label="stylist",
                                      role="stylist", action="client.list", outcome="allowed",
                                      subjects=[c.pk for c in self.clients[k:k + 10]],
                                      data_class=2, purpose="browse clients",
                                      detail={"page": k + 1}) for k in range(5)]
        subject_index.catch_up()  # the index is filled after the fact (beat, or a query)
        indexed = EventSubject.objects.filter(event_id__in=[e.id for e in listed]).count()
        verdict = chain.verify_stored(integrity._rows(started_at.seq),
                                      start_seq=started_at.seq, start_hash=started_at.hash)
        if not verdict.ok or indexed != 50:
            raise SystemExit(f"the events written in (a) do not verify: {verdict}"
                             f" ({indexed} of 50 subjects indexed)")
        return verdict.checked


def measure_recording(n: int, *, threads: int = 0, repeats: int = 1) -> dict:
    """Raw timings (seconds) of record() alone and of open_client with and without it."""
    from django.db import connection, transaction

    from audit import services

    rec = Recorder(n)
    pg = connection.vendor == "postgresql"
    out: dict = {"engine": connection.vendor, "n": n, "record_cpu": []}
    started_at = services.ChainHead.objects.get(pk=1) if pg else None
    with request_facts():
        for i in range(20):  # warm up: connections, caches, the chain head row
            rec.record(i)
            rec.opening(i)
        out["record"] = rec.each(rec.record, out["record_cpu"])
        with transaction.atomic():  # what record() costs without its commit
            out["record_in_tx"] = rec.each(rec.record)
        out["commit"] = rec.commit_floor()
        if pg:  # the ORM append (as before the one-statement append), on its own
            with _patched_append(_orm_append):
                out["record_orm"] = rec.each(rec.record)
        out.update(rec.openings(("real", "stub", "orm") if pg else ("real", "stub")))
    out.update(measure_pages(rec.clients, rec.stylist, n, repeats))
    if threads:
        out["concurrent"] = rec.concurrently(None, threads)
        if pg:
            out["concurrent_orm"] = rec.concurrently(_orm_append, threads)
    if pg:
        out["verified"] = rec.verified(started_at)
    return out


def _page_getter(clients: list, stylist):
    """GET of the i-th of the stylist's clients with the most common number of treatments,
    by the stylist, signed in with her second factor."""
    from collections import Counter

    from django.db.models import Count
    from django.test import Client as HttpClient
    from django.urls import reverse

    from records.models import Client

    counts = dict(Client.objects.filter(pk__in=[c.pk for c in clients])
                  .annotate(n=Count("treatments")).values_list("pk", "n"))
    common = Counter(counts.values()).most_common(1)[0][0]
    alike = [c for c in clients if counts[c.pk] == common]
    say(f"client pages: {len(alike)} of the stylist's clients with {common} treatments each")
    http = HttpClient(HTTP_USER_AGENT="Mozilla/5.0 (iPad) bench", REMOTE_ADDR="192.168.1.23")
    http.force_login(stylist)
    verify_second_factor(http, stylist)
    urls = [reverse("records:client_detail", args=[c.pk]) for c in alike]

    def page(i: int) -> None:
        response = http.get(urls[i % len(urls)])
        if response.status_code != 200:
            raise SystemExit(f"the client page answered {response.status_code}")

    return page


def measure_pages(clients: list, stylist, n: int, repeats: int) -> dict:
    """The opening as the stylist sees it: her client's page, GET through every middleware
    (session, sign-in, gates, the request's audit facts), with the event written as shipped
    (write-behind), without write-behind, and with _append stubbed.

    The clients are those of hers with the most common number of treatments, so that every
    page does the same work: the p95 is then the pages' own tail, not the mix of long and
    short pages). Even so the p95 of a difference between two pages of 20 ms moves by about
    a millisecond from run to run on this kind of machine: the whole run is made `repeats`
    times and the median of the runs is the figure, with their range beside it."""
    from django.test import override_settings

    page = _page_getter(clients, stylist)
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
