"""Concurrent writers take turns at the head of the chain: one chain, no forks, no gaps."""

from __future__ import annotations

import threading
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connections

from audit import chain, services
from audit.models import AccessEvent, ChainHead

THREADS, EACH = 4, 25


@pytest.mark.django_db(transaction=True, databases=["default", "vault"])
def test_concurrent_writers_produce_one_chain_without_forks():
    start = threading.Barrier(THREADS)
    failures: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            start.wait()
            for i in range(EACH):
                services.record(actor=None, actor_label=f"system:writer-{n}",
                                action="test.concurrent", outcome="allowed",
                                detail={"writer": n, "i": i})
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures
    rows = list(AccessEvent.objects.order_by("seq"))
    total = THREADS * EACH
    assert [e.seq for e in rows] == list(range(1, total + 1))
    assert len({e.prev_hash for e in rows}) == total  # no two events claim the same parent
    previous = chain.GENESIS
    for event in rows:
        assert event.prev_hash == previous
        previous = event.hash
    assert {(e.actor_label, e.detail["i"]) for e in rows} == {
        (f"system:writer-{n}", i) for n in range(THREADS) for i in range(EACH)}
    head = ChainHead.objects.get()
    assert (head.seq, head.hash) == (total, previous)
    out = StringIO()
    call_command("audit_verify", stdout=out)
    assert f"{total} events verified" in out.getvalue()
