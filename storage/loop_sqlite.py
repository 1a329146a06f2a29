"""SQLite on the event loop's thread, behind SQLAlchemy's aiosqlite dialect.

aiosqlite runs every statement on a thread of its own: the statement is queued,
the thread woken, the answer handed back to the loop. On the bot's hot path that
hand-over cost more than the statement (a quarter of a millisecond each, under
load, against a few microseconds for SQLite itself). Here the same interface runs
each call at once on the loop's thread: SQLAlchemy sees an aiosqlite connection,
nothing else changes.

What it costs: while a statement runs, the loop waits. Our statements are short
(indexed reads, single-row writes) and this process's transactions queue on the
writer lock anyway (`storage/db.py`). The one long wait SQLite can impose —
another process holding the write lock (a command-line import) — is not spent on
the loop: `BEGIN IMMEDIATE` is tried without waiting and retried after an asyncio
sleep (`begin_immediate`), up to the usual busy timeout.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy.util import await_only

#: longest sleep between two tries of BEGIN IMMEDIATE while another process writes
BUSY_SLEEP_MAX = 0.05


class _Cursor:
    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> _Cursor:
        return self

    async def __aexit__(self, *_: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Any = ()) -> _Cursor:
        self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> _Cursor:
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class _Immediate:
    """aiosqlite's request queue, as SQLAlchemy's adapter uses it (isolation level)."""

    @staticmethod
    def put_nowait(item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as exc:
            future.set_exception(exc)


class LoopConnection:
    """The part of `aiosqlite.Connection` that SQLAlchemy's aiosqlite dialect calls."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn = connection
        self._connection: sqlite3.Connection | None = connection
        self._tx = _Immediate()

    def cursor(self) -> _Cursor:
        return _Cursor(self._conn.cursor())

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> _Cursor:
        return _Cursor(self._conn.execute(sql, parameters))

    async def commit(self) -> None:
        self._conn.commit()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def create_function(self, *args: Any, **kw: Any) -> None:
        self._conn.create_function(*args, **kw)

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    async def close(self) -> None:
        if self._connection is not None:
            self._connection = None
            self._conn.close()

    def stop(self) -> None:
        if self._connection is not None:
            self._connection = None
            self._conn.close()


def creator(path: str) -> Callable[[], Any]:
    """SQLAlchemy's `async_creator` for a file database at `path`."""

    async def connect() -> LoopConnection:
        return LoopConnection(sqlite3.connect(path, check_same_thread=False))

    return connect


def begin_immediate(dbapi_connection: Any, busy_timeout_ms: int) -> None:
    """BEGIN IMMEDIATE, waiting for another process's write lock on the loop, not in it.

    Called inside SQLAlchemy's greenlet (the `begin` event), so it may await.
    """
    raw: sqlite3.Connection = dbapi_connection.driver_connection._conn
    deadline = time.monotonic() + busy_timeout_ms / 1000
    sleep = 0.001
    raw.execute("PRAGMA busy_timeout=0")
    try:
        while True:
            try:
                raw.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
            await_only(asyncio.sleep(sleep))
            sleep = min(sleep * 2, BUSY_SLEEP_MAX)
    finally:
        raw.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
