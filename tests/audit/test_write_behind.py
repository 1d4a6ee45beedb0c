"""Write-behind (audit/writer.py): an opening's event is committed on a side connection (on
PostgreSQL the whole append is sent and left; on SQLite the COMMIT goes to the commit
thread) while the page reads ciphertext. No data key enters the scope, and so nothing is
decrypted, before the event is committed; if it cannot be written the opening fails
closed."""

from __future__ import annotations

import gc
import os
import sqlite3
import threading

import psycopg
import pytest
from django.core.signals import request_finished
from django.db import connection, connections, transaction
from django.urls import reverse

from access import door
from audit import chain, services, writer
from audit.models import AccessEvent, ChainHead
from tests.audit.conftest import PLAINTEXT
from vault import keystore
from vault import scope as vault_scope

MESSAGE = "could not be recorded in the audit log"
on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql",
                                   reason="PostgreSQL's side connection")
committed = pytest.mark.django_db(transaction=True, databases=["default", "vault"])


def _third_connection() -> psycopg.Connection:
    """A connection of nobody's: what it sees is committed."""
    params = {k: v for k, v in connection.get_connection_params().items()
              if k not in ("cursor_factory", "context")}
    return psycopg.connect(**params, autocommit=True)


class _Other:
    """Another session on the records database, of either engine."""

    def __init__(self) -> None:
        self.pg = connection.vendor == "postgresql"
        self.conn = (_third_connection() if self.pg else
                     sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None,
                                     check_same_thread=False))

    def committed_openings(self, client) -> int:
        sql = ("SELECT count(*) FROM audit_accessevent WHERE client_id = %s "
               "AND action = 'client.open'")
        if not self.pg:
            sql = sql.replace("%s", "?")
        return self.conn.execute(sql, [client.pk if self.pg else client.pk.hex]).fetchone()[0]

    def hold_the_chain(self) -> _Other:
        """Keep every append waiting until close(): the head's row lock on PostgreSQL,
        the write lock on SQLite."""
        if self.pg:
            self.conn.execute("BEGIN")
            self.conn.execute("SELECT * FROM audit_chainhead WHERE id = 1 FOR UPDATE")
        else:
            self.conn.execute("BEGIN IMMEDIATE")
        return self

    def close(self) -> None:
        self.conn.close()


def _openings(client) -> list[AccessEvent]:
    return list(AccessEvent.objects.filter(action="client.open", client_id=client.pk,
                                           outcome="allowed").order_by("seq"))


def _open_and_read(user, client) -> writer._Side:
    """Open `client` as `user` and read a value; the side connection that carried it."""
    with door.open_client(user=user, client=client, purpose="t") as opening:
        side = opening.event._pending._side
        assert client.full_name == "李娜"
    return side


def _chain_verifies() -> None:
    rows = list(AccessEvent.objects.order_by("seq"))
    previous = chain.GENESIS
    for event in rows:
        assert event.prev_hash == previous
        assert chain.digest({name: getattr(event, name) for name in chain.FIELDS}) == event.hash
        previous = event.hash


@pytest.fixture
def stored(client_record):
    """The client as a page reads it: ciphertext from the database (the fixture's own object
    still holds the values it was created with)."""
    from records.models import Client

    return Client.objects.select_related("location").get(pk=client_record.pk)


# --------------------------------------------------------------------------- the scope gate
class _Refused(Exception):
    pass


def test_a_scope_whose_event_is_not_confirmed_unwraps_no_key(stored, monkeypatch):
    loads = []
    monkeypatch.setattr(keystore, "load", lambda subjects: loads.append(subjects) or {})

    def refuse():
        raise _Refused

    with vault_scope._open(ceilings={stored.pk: 4}, actor="t", purpose="p",
                           confirm=refuse):
        for _ in range(2):  # and again: a refused scope stays shut
            with pytest.raises(_Refused):
                str(stored.full_name)
    assert loads == []


def test_a_confirmed_scope_asks_once_and_then_decrypts(stored):
    asked = []
    with vault_scope._open(ceilings={stored.pk: 4}, actor="t", purpose="p",
                           confirm=lambda: asked.append(1)):
        assert stored.full_name == "李娜"
        assert stored.phone == "13812345678"
    assert asked == [1]


def test_inside_a_transaction_the_opening_joins_it(stylist, stored):
    # (Every test here but those marked `committed` runs inside a transaction.)
    with transaction.atomic():
        with door.open_client(user=stylist, client=stored, purpose="t") as opening:
            assert isinstance(opening.event_id, int)
            assert stored.full_name == "李娜"
        transaction.set_rollback(True)
    assert not _openings(stored)


# ------------------------------------------------------------ committed, both engines
@committed
def test_the_client_page_is_recorded_and_shown(login, stylist, stored):
    http = login(stylist)
    for _ in range(3):
        response = http.get(reverse("records:client_detail", args=[stored.pk]))
        assert response.status_code == 200
        assert "李娜" in response.content.decode()
    assert len(_openings(stored)) == 3
    _chain_verifies()


@committed
def test_the_event_is_committed_before_any_key_is_unwrapped(stylist, stored,
                                                           monkeypatch):
    load, seen = keystore.load, []

    def load_and_look(subjects):
        # Asked from another session: only what is committed is there.
        other = _Other()
        seen.append(other.committed_openings(stored))
        other.close()
        return load(subjects)

    monkeypatch.setattr(keystore, "load", load_and_look)
    # The chain is held by another session for a moment, so the event is still on its way
    # when the opening wants its first value.
    holder = _Other().hold_the_chain()
    threading.Timer(0.3, holder.close).start()
    with door.open_client(user=stylist, client=stored, purpose="t") as opening:
        assert opening.event._pending is not None  # written behind, not yet confirmed
        assert stored.phone == "13812345678"
    assert seen == [1]


@on_postgresql
@committed
def test_the_event_goes_out_on_a_side_connection(stylist, stored):
    with door.open_client(user=stylist, client=stored, purpose="t") as opening:
        pending = opening.event._pending
        assert pending is not None
        side_pid = pending._side.conn.info.backend_pid
        main_pid = connection.connection.info.backend_pid
        assert side_pid != main_pid
        assert stored.full_name == "李娜"
    event = _openings(stored)[-1]
    assert opening.event_id == event.pk
    assert (event.seq, event.hash) == (opening.event.event.seq, opening.event.event.hash)


@on_postgresql
@committed
def test_a_page_whose_event_cannot_be_written_fails_closed(login, stylist, stored,
                                                         monkeypatch):
    # Another session holds the chain head: the side statement gives up after its timeout.
    monkeypatch.setattr(writer, "STATEMENT_TIMEOUT_MS", 300)
    writer.close_all()
    http = login(stylist)
    before = AccessEvent.objects.count()
    loads = []
    load = keystore.load
    monkeypatch.setattr(keystore, "load", lambda s: loads.append(s) or load(s))
    with _third_connection() as holder, holder.transaction():
        holder.execute("SELECT * FROM audit_chainhead WHERE id = 1 FOR UPDATE")
        response = http.get(reverse("records:client_detail", args=[stored.pk]))
    assert response.status_code == 503
    text = response.content.decode()
    assert MESSAGE in text
    for value in PLAINTEXT:
        assert value not in text
    assert loads == []  # no key was unwrapped
    assert AccessEvent.objects.count() == before
    # Once the head is free again, the page works.
    response = http.get(reverse("records:client_detail", args=[stored.pk]))
    assert response.status_code == 200 and "李娜" in response.content.decode()


@committed
def test_an_opening_that_reads_nothing_still_fails_when_its_event_is_lost(
        stylist, stored, monkeypatch):
    monkeypatch.setattr(writer, "STATEMENT_TIMEOUT_MS", 300)
    writer.close_all()
    holder = _Other().hold_the_chain()
    try:
        with pytest.raises(services.AuditUnavailable), \
                door.open_client(user=stylist, client=stored, purpose="t"):
            pass
    finally:
        holder.close()
    assert not _openings(stored)
    with door.open_client(user=stylist, client=stored, purpose="t"):  # and then it works
        assert stored.phone == "13812345678"
    assert len(_openings(stored)) == 1


@committed
def test_a_value_read_while_the_event_is_lost_is_refused(stylist, stored, monkeypatch):
    monkeypatch.setattr(writer, "STATEMENT_TIMEOUT_MS", 300)
    writer.close_all()
    loads = []
    load = keystore.load
    monkeypatch.setattr(keystore, "load", lambda s: loads.append(s) or load(s))
    holder = _Other().hold_the_chain()
    try:
        with pytest.raises(services.AuditUnavailable), \
                door.open_client(user=stylist, client=stored, purpose="t"):
            str(stored.full_name)
    finally:
        holder.close()
    assert loads == []


@committed
def test_an_event_refused_at_its_commit_fails_and_leaves_the_chain_whole(stylist, stored):
    from django.contrib.auth.models import User

    ghost = User(pk=987654, username="ghost")  # not in the table: the key check fails
    facts = {"actor_label": "t", "action": "client.open", "outcome": "allowed",
             "client_id": stored.pk}
    head = ChainHead.objects.get()
    refused = services.record_behind(actor=ghost, **facts)
    assert refused._pending is not None  # it did go behind
    for _ in range(2):
        with pytest.raises(services.AuditUnavailable):
            refused.wait()
    written = services.record_behind(actor=stylist, **facts).wait()
    assert (written.seq, written.prev_hash) == (head.seq + 1, head.hash)
    assert AccessEvent.objects.filter(actor_label="t").get().pk == written.pk
    _chain_verifies()


@committed
def test_a_caller_that_writes_before_it_reads_waits_only_for_the_commit(stylist, stored,
                                                                        location):
    with door.open_client(user=stylist, client=stored, purpose="t") as opening, \
            transaction.atomic():
        location.name = "北京国贸店（新）"
        location.save()  # on SQLite: the write lock, once the event's commit has let it go
        assert stored.phone == "13812345678"
        assert opening.event_id
    assert len(_openings(stored)) == 1
    _chain_verifies()


@on_postgresql
@committed
def test_a_lost_side_connection_fails_one_opening_then_is_replaced(stylist, stored):
    side = _open_and_read(stylist, stored)
    with _third_connection() as other:
        other.execute("SELECT pg_terminate_backend(%s)", [side.conn.info.backend_pid])
    with pytest.raises(services.AuditUnavailable), \
            door.open_client(user=stylist, client=stored, purpose="t"):
        str(stored.full_name)
    with door.open_client(user=stylist, client=stored, purpose="t") as opening:
        assert opening.event._pending._side is not side
        assert stored.full_name == "李娜"
    assert len(_openings(stored)) == 2
    _chain_verifies()


@committed
def test_concurrent_openings_make_one_chain(stylist, stored):
    threads, each = 4, 10
    start = threading.Barrier(threads)
    failures: list[BaseException] = []

    def opener() -> None:
        try:
            start.wait()
            for _ in range(each):
                with door.open_client(user=stylist, client=stored, purpose="t"):
                    assert stored.phone == "13812345678"
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
        finally:
            writer.close_local()
            connections.close_all()

    workers = [threading.Thread(target=opener) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert not failures, failures
    events = _openings(stored)
    assert len(events) == threads * each
    _chain_verifies()


@on_postgresql
@committed
def test_the_side_connection_ends_with_the_requests_own(stylist, stored):
    side = _open_and_read(stylist, stored)
    request_finished.send(sender=None)  # Django's own connection is still open: kept
    assert writer._local.sides == {"default": side}
    connection.close()  # as close_old_connections does when CONN_MAX_AGE has passed
    request_finished.send(sender=None)
    assert writer._local.sides == {}
    assert side.conn.closed


@on_postgresql
@committed
def test_a_forked_child_leaves_the_parents_side_connection_alone(stylist, stored):
    side = _open_and_read(stylist, stored)
    pid = os.fork()
    if pid == 0:  # the child: no side connection of its own; the parent's are collected
        code = 1 if writer._local.__dict__.get("sides") else 0
        del side
        gc.collect()
        os._exit(code)
    assert os.waitpid(pid, 0)[1] == 0
    with door.open_client(user=stylist, client=stored, purpose="t") as opening:
        assert opening.event._pending._side is side  # still alive, reused
        assert stored.full_name == "李娜"
    assert len(_openings(stored)) == 2
