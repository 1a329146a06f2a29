"""Database engine and transactions for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, UOWTransaction

if TYPE_CHECKING:
    from bot.ports import OutboxSignal

from storage import loop_sqlite
from storage.hot import HotCache
from storage.models import Person

SQLITE_BUSY_TIMEOUT_MS = 30_000
#: the only folder made for an embedded database (the Docker volume, `make demo`);
#: any other folder must exist, so a typo in DATABASE_URL cannot scatter folders
DEFAULT_SQLITE_FOLDER = Path("data")


def is_default_sqlite_folder(folder: Path) -> bool:
    return folder.absolute() == DEFAULT_SQLITE_FOLDER.absolute()


def _prepare_sqlite(engine: AsyncEngine) -> None:
    """WAL, foreign keys, and BEGIN IMMEDIATE.

    BEGIN IMMEDIATE takes the write lock at the start of every transaction. With
    the default deferred BEGIN, two transactions that read and then write fail
    with "database is locked" instead of waiting; taking it up front makes
    concurrent writers queue behind each other for up to the busy timeout.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let us emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        dbapi_connection = connection.connection.dbapi_connection
        if isinstance(dbapi_connection.driver_connection, loop_sqlite.LoopConnection):
            loop_sqlite.begin_immediate(dbapi_connection, SQLITE_BUSY_TIMEOUT_MS)
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            folder = Path(parsed.database).parent
            if not folder.is_dir() and is_default_sqlite_folder(folder):
                folder.mkdir(exist_ok=True)
        if parsed.database and parsed.database != ":memory:" and not parsed.query:
            # statements on the loop's thread, not aiosqlite's (storage/loop_sqlite.py)
            kwargs.setdefault("async_creator", loop_sqlite.creator(parsed.database))
        else:
            # The hot path calls the sqlite3 connection on the loop thread (storage/hot.py).
            kwargs.setdefault("connect_args", {}).setdefault("check_same_thread", False)
        engine = create_async_engine(url, **kwargs)
        _prepare_sqlite(engine)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    ping_idle_after = kwargs.pop("ping_idle_after", PING_IDLE_AFTER)
    engine = create_async_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        _ping_when_idle(engine, ping_idle_after)
    return engine


#: a pooled PostgreSQL connection that rested longer than this is checked (a round trip)
#: before it is used; see `_ping_when_idle`
PING_IDLE_AFTER = 10.0
_RETURNED = "poruch_returned_at"


def _ping_when_idle(engine: AsyncEngine, after: float) -> None:
    """SQLAlchemy's pre-ping, for connections that rested: under load the pool hands out
    connections returned a moment ago, and a ping before every transaction (BEGIN, an
    empty query, ROLLBACK with asyncpg) cost three round trips per batch. A connection
    the server dropped while it rested (a restart, an idle timeout) is found here and
    replaced; one dropped in the last seconds fails its transaction, which the engine
    runs again (one event at a time, on fresh connections: the disconnect also makes
    the pool replace every connection older than it)."""
    sync = engine.sync_engine

    @event.listens_for(sync, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED] = time.monotonic()

    @event.listens_for(sync, "checkout")
    def _taken(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get(_RETURNED)
        if returned is None or time.monotonic() - returned < after:
            return  # new, or back from work a moment ago
        try:
            sync.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError("a pooled connection was dropped while it rested") from exc


# Databases whose SQLite writer lock the current task holds: a nested transaction in
# the same task must not wait for itself.
_writing: ContextVar[frozenset[int]] = ContextVar("poruch_sqlite_writing", default=frozenset())


#: `Session.info` key set by whatever queued an outbox row in that session's transaction
ENQUEUED = "poruch_outbox_enqueued"


def mark_enqueued(session: AsyncSession | Session, due: datetime | None = None) -> None:
    """This transaction queued outbox rows: wake the worker(s) once it commits. `due`:
    when the row may go out (None: at once), so a reminder for tomorrow wakes nobody."""
    session.info.setdefault(ENQUEUED, []).append(due)


#: `Session.info` keys: the people this transaction wrote (a set of ids, or None for
#: anyone: a bulk statement), for `HotCache.forget` after the commit; and the people the
#: engine holds in this session (id → object), whose own writes it caches itself
PEOPLE_WRITTEN = "poruch_people_written"
OWN_PEOPLE = "poruch_own_people"
#: the people flushed since the engine last emptied it (the engine's undo reads it)
PEOPLE_FLUSHED = "poruch_people_flushed"
_ANYONE = None
#: compared by name: a statement holds the table annotated (`update(Person).table`)
_PEOPLE_TABLES = frozenset({Person.__tablename__})


def _note_people(session: Session, ids: set[int] | None) -> None:
    if ids is None:
        session.info[PEOPLE_WRITTEN] = _ANYONE
        return
    written = session.info.get(PEOPLE_WRITTEN, set())
    if written is not _ANYONE:
        session.info[PEOPLE_WRITTEN] = written | ids


class StatementCount:
    """Every statement this process sends to SQLite (BEGIN and COMMIT too; PRAGMAs, which
    only set connection options, not), from SQLite's own trace hook: the hot store
    (storage/hot.py) talks to the driver, not to SQLAlchemy, so SQLAlchemy's events
    would miss most of the hot path. PostgreSQL is not counted: asyncpg's query logger
    does not see prepared statements, which is how SQLAlchemy and the hot store send
    theirs (the statements are the same as SQLite's, plus a ping and a reset when a
    transaction takes and returns its pooled connection)."""

    def __init__(self) -> None:
        self.value = 0

    def __call__(self, statement: str) -> None:
        if not statement.startswith("PRAGMA"):
            self.value += 1

    def attach(self, dbapi_connection: Any, _record: Any) -> None:
        driver = getattr(dbapi_connection, "driver_connection", None)
        raw = getattr(driver, "_conn", None)  # storage/loop_sqlite.py, aiosqlite
        if isinstance(raw, sqlite3.Connection):
            raw.set_trace_callback(self)


class Database:
    """One engine, one session factory, and the transaction boundary.

    Every session it makes tells the outbox signals registered here (the
    workers of this process) after a commit whose transaction queued outbox
    rows (`mark_enqueued`): whoever enqueues needs no after-commit step of
    its own, and no commit can forget it.
    """

    def __init__(self, url: str, *, count_statements: bool = False, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self._signals: list[OutboxSignal] = []
        #: statements sent, when counted (`count_statements`); None when not
        self.statements: StatementCount | None = None
        if count_statements:
            self.statements = StatementCount()
            event.listen(self.engine.sync_engine, "connect", self.statements.attach)

        # One Session class per database, so its events reach this database's
        # signals only (two apps in one test process must not wake each other).
        class _Session(Session):
            pass

        event.listen(_Session, "after_commit", self._after_commit)
        event.listen(_Session, "after_soft_rollback", self._after_rollback)
        event.listen(_Session, "after_flush", self._after_flush)
        event.listen(_Session, "do_orm_execute", self._on_execute)
        #: people and their state between updates (storage/hot.py); every session of
        #: this database tells it, after the commit, which people rows it wrote
        self.hot_cache = HotCache()
        self.sessions = async_sessionmaker(
            self.engine, expire_on_commit=False, sync_session_class=_Session
        )
        # SQLite has one writer at a time and every transaction here writes (BEGIN
        # IMMEDIATE). Queueing this process's transactions on a fair asyncio lock
        # serves them in order at once; left to SQLite, waiters poll in growing
        # sleeps (the busy handler), which turns a short queue into long tails.
        # Other processes (a CLI import) still meet the busy timeout.
        self._writer = asyncio.Lock() if self.engine.dialect.name == "sqlite" else None

    def listen_outbox(self, signal: OutboxSignal) -> None:
        """`signal.wake(due)` after every commit that queued outbox rows."""
        if signal not in self._signals:
            self._signals.append(signal)

    def unlisten_outbox(self, signal: OutboxSignal) -> None:
        if signal in self._signals:
            self._signals.remove(signal)

    def wake_outbox(self, due: datetime | None = None) -> None:
        """Tell the listening workers that committed rows wait (due at `due`, or at once).
        Sessions of this database call it themselves; a commit path without a session (a
        raw connection) calls it after committing outbox rows."""
        for signal in list(self._signals):
            signal.wake(due)

    def _after_commit(self, session: Session) -> None:
        dues = session.info.pop(ENQUEUED, None)
        if dues:
            self.wake_outbox(None if None in dues else min(dues))
        if PEOPLE_WRITTEN in session.info:
            self.hot_cache.forget(session.info.pop(PEOPLE_WRITTEN))

    @staticmethod
    def _after_rollback(session: Session, previous: SessionTransaction) -> None:
        # The whole transaction rolled back: nothing was queued. (A savepoint's
        # rollback leaves what the rest of the transaction queued.)
        if previous.parent is None:
            session.info.pop(ENQUEUED, None)
            session.info.pop(PEOPLE_WRITTEN, None)

    @staticmethod
    def _after_flush(session: Session, _flush: UOWTransaction) -> None:
        """Note the people whose rows this flush wrote (the session still lists them)."""
        own = session.info.get(OWN_PEOPLE, {})
        written: set[int] = set()
        flushed = session.info.setdefault(PEOPLE_FLUSHED, set())
        for obj in session.dirty:
            if isinstance(obj, Person) and obj.id is not None:
                flushed.add(obj.id)
                if own.get(obj.id) is not obj:
                    written.add(obj.id)
        for obj in session.deleted:
            if isinstance(obj, Person):
                flushed.add(obj.id)
                written.add(obj.id)
        if written:
            _note_people(session, written)

    @staticmethod
    def _on_execute(state: ORMExecuteState) -> None:
        """An UPDATE or DELETE statement on people (marking unreachable, erasure)."""
        if (state.is_update or state.is_delete) and getattr(
            getattr(state.statement, "table", None), "name", None
        ) in _PEOPLE_TABLES:
            _note_people(state.session, _ANYONE)

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on error."""
        if self._writer is None or id(self) in _writing.get():
            async with self.sessions() as session, session.begin():
                yield session
            return
        async with self._writer:
            token = _writing.set(_writing.get() | {id(self)})
            try:
                async with self.sessions() as session, session.begin():
                    yield session
            finally:
                _writing.reset(token)

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    async def dispose(self) -> None:
        await self.engine.dispose()


def lock_key(*parts: str) -> int:
    """A stable signed 64-bit key for PostgreSQL advisory locks."""
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def advisory_xact_lock(session: AsyncSession, *parts: str) -> None:
    """Serialise work on one key across processes, until the transaction ends.

    On SQLite, BEGIN IMMEDIATE already makes each write transaction exclusive,
    so there is nothing more to take.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key(*parts)})
