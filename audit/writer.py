"""Write-behind for openings: the event is written on a second connection and the page goes
on reading ciphertext while the database commits it.

The invariant does not move: nothing is decrypted before the event is durable. The door
hands the scope a `Pending` event, and the scope unwraps no data key until `wait()` has
seen the commit (the door also waits on the way out, so an event that could not be written
fails the request even when it decrypted nothing). What moves is only when the page waits:
the append's round trip, statement and commit overlap the page's own queries for the
client's profile, treatments, photos and forms, instead of coming before them.

Each thread has its own side connection (autocommit, to the same database as the caller's
connection); a statement is sent with libpq's asynchronous call and its result read when
the scope first needs a key. Only one statement is ever in flight on a side connection:
`send` waits for the previous one first. The side connection is used only when the
caller's connection is outside a transaction (inside one, the event joins the caller's
transaction as before), so everything the event refers to is already committed.

On SQLite statements cannot be sent and left. The caller runs the append's statements on
its side connection itself (they take the write lock, link and insert the event: a tenth
of a millisecond) and only the COMMIT — SQLite's fsync, most of the cost — goes to the
process's commit thread, one C call that releases the GIL. The commit waits for nothing
the caller holds (the caller's own connection is in autocommit), so a caller that writes
before it waits only waits for that commit.
"""

from __future__ import annotations

import logging
import os
import select
import sqlite3
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import psycopg
from psycopg import pq

log = logging.getLogger(__name__)

# A statement that waits this long for a lock has met a lock held by the very request that
# waits for it (nothing else holds the chain head that long): it fails, and so does the
# access, rather than hanging the request.
STATEMENT_TIMEOUT_MS = 5000


FILLED = object()  # what a SQLite side's result() returns: the event's fields are set


class SideError(Exception):
    """The event was not written (the message is PostgreSQL's, never the event's values)."""


class Pending:
    """One event in flight on a side connection."""

    __slots__ = ("_side", "_result", "_error", "_done")

    def __init__(self, side: _Side) -> None:
        self._side = side
        self._result: tuple | None = None
        self._error: Exception | None = None
        self._done = False

    def result(self) -> tuple | None:
        """The row the statement returned (None: no row), once it is committed; or raise
        SideError. Waiting again returns the same answer."""
        if not self._done:
            self._side.finish(self)
        if self._error is not None:
            raise self._error
        return self._result


class _Side:
    def __init__(self, params: dict, paired_with: object) -> None:
        params = {k: v for k, v in params.items() if k != "cursor_factory"}
        self.conn = psycopg.connect(**params, autocommit=True)
        self.conn.execute(f"SET statement_timeout = {STATEMENT_TIMEOUT_MS}")
        self.cursor = psycopg.ClientCursor(self.conn)
        self.paired_with = paired_with
        self.in_flight: Pending | None = None
        self.broken = False

    def send(self, sql: str, params: tuple) -> Pending:
        if self.in_flight is not None:
            self.finish(self.in_flight)
        pending = Pending(self)
        pgconn = self.conn.pgconn
        try:
            pgconn.send_query(self.cursor.mogrify(sql, params).encode())
            while pgconn.flush():
                select.select([], [pgconn.socket], [])
        except (psycopg.Error, OSError) as exc:
            self.broken = True
            raise SideError(type(exc).__name__) from exc
        self.in_flight = pending
        return pending

    def finish(self, pending: Pending) -> None:
        """Read the results of the statement in flight and settle `pending` with them."""
        pgconn = self.conn.pgconn
        row, error = None, None
        try:
            while True:
                pgconn.consume_input()
                if pgconn.is_busy():
                    select.select([pgconn.socket], [], [])
                    continue
                res = pgconn.get_result()
                if res is None:
                    break
                if res.status == pq.ExecStatus.TUPLES_OK:
                    if res.ntuples:
                        row = tuple(res.get_value(0, i) for i in range(res.nfields))
                elif res.status != pq.ExecStatus.COMMAND_OK:
                    message = (res.error_message or b"").decode(errors="replace").strip()
                    error = SideError(message.splitlines()[0] if message else "error")
        except (psycopg.Error, OSError) as exc:
            self.broken = True
            error = SideError(type(exc).__name__)
        if pgconn.status != pq.ConnStatus.OK:
            self.broken = True
            error = error or SideError("connection lost")
        pending._result, pending._error, pending._done = row, error, True
        self.in_flight = None

    def close(self) -> None:
        try:
            if self.in_flight is not None:
                self.finish(self.in_flight)
        finally:
            self.conn.close()


class _SqliteSide:
    def __init__(self, connection) -> None:
        settings = connection.settings_dict
        self.conn = sqlite3.connect(settings["NAME"], isolation_level=None,
                                    check_same_thread=False, uri=True,
                                    timeout=STATEMENT_TIMEOUT_MS / 1000)
        self.conn.execute("PRAGMA foreign_keys = ON")  # as Django's own connections
        self.paired_with = connection.connection
        self.in_flight: Future | None = None
        self.broken = False

    def send(self, statements: Callable) -> Future:
        """Run `statements(conn)` (which begin the transaction) here, then commit behind."""
        self.settle()
        try:
            statements(self.conn)
        except sqlite3.Error as exc:
            self._rollback()
            raise SideError(type(exc).__name__) from exc
        self.in_flight = _commit_thread().submit(self.conn.execute, "COMMIT")
        return self.in_flight

    def settle(self) -> None:
        """Wait for the commit in flight; if it failed, roll back (its waiter has raised or
        will raise the error)."""
        future, self.in_flight = self.in_flight, None
        if future is not None and future.exception() is not None:
            self._rollback()

    def _rollback(self) -> None:
        try:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
        except sqlite3.Error:
            self.broken = True

    def close(self) -> None:
        try:
            self.settle()
        finally:
            self.conn.close()


class SqlitePending:
    """A SQLite event whose commit is in flight."""

    __slots__ = ("_side", "_future")

    def __init__(self, side: _SqliteSide, future: Future) -> None:
        self._side, self._future = side, future

    def result(self) -> object:
        error = self._future.exception()
        if error is not None:
            if self._side.in_flight is self._future:
                self._side.settle()
            raise SideError(type(error).__name__) from error
        return FILLED


_commits: ThreadPoolExecutor | None = None
_commits_lock = threading.Lock()


def _commit_thread() -> ThreadPoolExecutor:
    global _commits
    with _commits_lock:
        if _commits is None:
            _commits = ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit-commit")
        return _commits


def send_sqlite(connection, statements: Callable) -> SqlitePending:
    """Run `statements` on this thread's SQLite side connection and commit them behind."""
    side = _connected(connection)
    try:
        return SqlitePending(side, side.send(statements))
    except SideError:
        _drop(connection.alias)
        raise


_local = threading.local()
_open: weakref.WeakSet[_Side | _SqliteSide] = weakref.WeakSet()
_open_lock = threading.Lock()


def send(connection, sql: str, params: tuple) -> Pending:
    """Send `sql` on this thread's side connection to `connection`'s database."""
    side = _connected(connection)
    try:
        return side.send(sql, params)
    except SideError:
        _drop(connection.alias)
        raise


def _connected(connection) -> _Side | _SqliteSide:
    try:
        return _side_for(connection)
    except (psycopg.Error, sqlite3.Error, OSError) as exc:  # the side could not connect
        raise SideError(type(exc).__name__) from exc


def _side_for(connection) -> _Side | _SqliteSide:
    sides = _local.__dict__.setdefault("sides", {})
    side = sides.get(connection.alias)
    # The side connection lives as long as the caller's own: when Django has replaced that
    # one (CONN_MAX_AGE, an error), the side connection is replaced too.
    connection.ensure_connection()
    if side is not None and (side.broken or side.paired_with is not connection.connection):
        _drop(connection.alias)
        side = None
    if side is None:
        side = (_SqliteSide(connection) if connection.vendor == "sqlite" else
                _Side(connection.get_connection_params(), connection.connection))
        sides[connection.alias] = side
        with _open_lock:
            _open.add(side)
    return side


def _drop(alias: str) -> None:
    side = _local.__dict__.get("sides", {}).pop(alias, None)
    if side is not None:
        try:
            side.close()
        except Exception:  # noqa: BLE001 - a broken connection is being thrown away
            log.debug("side connection closed with an error", exc_info=True)


def settle(pending: Pending | SqlitePending) -> None:
    """After a failure: the side connection that carried `pending` is not reused."""
    if pending._side.broken:
        for alias, side in list(_local.__dict__.get("sides", {}).items()):
            if side is pending._side:
                _drop(alias)


def close_all() -> None:
    """Close every side connection of this process (test teardown, shutdown)."""
    with _open_lock:
        sides = list(_open)
        _open.clear()
    for side in sides:
        try:
            side.close()
        except Exception:  # noqa: BLE001 - closing at shutdown, nothing to do about it
            log.debug("side connection closed with an error", exc_info=True)
    _local.__dict__.pop("sides", None)


def close_local() -> None:
    """Close this thread's side connections (a thread that is about to end)."""
    for alias in list(_local.__dict__.get("sides", {})):
        _drop(alias)


def close_if_paired_closed(connection) -> None:
    """Close this thread's side connection when Django has closed the caller's."""
    side = _local.__dict__.get("sides", {}).get(connection.alias)
    if side is not None and connection.connection is not side.paired_with:
        _drop(connection.alias)


def _after_fork_in_child() -> None:
    # A child must not use its parent's side connections (nor close them: psycopg ends a
    # session only in the process that opened it). It starts with none.
    global _local, _open, _open_lock, _commits, _commits_lock
    _local = threading.local()
    _open = weakref.WeakSet()
    _open_lock = threading.Lock()
    _commits, _commits_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)
