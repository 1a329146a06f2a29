"""Repositories, transactions and schema, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select, text
from sqlalchemy.engine import Connection, make_url

from bot.delivery.outbox import enqueue
from bot.engine import Reply
from storage.db import Database, advisory_xact_lock, lock_key
from storage.models import AuditEntry, Base, DialogStateRow, OutboxMessage, Person
from storage.repositories import AuditLog, DialogStates, People, ProcessedEvents, StoredState
from storage.repositories.dialog_states import StaleStateError

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    yield database
    await database.dispose()


async def register(db: Database, user_id: str = "1", platform: str = "test") -> int:
    async with db.transaction() as session:
        person, _ = await People(session).get_or_register(platform, user_id)
        return person.id


# -- people -----------------------------------------------------------------------


async def test_get_or_register_is_idempotent(db: Database) -> None:
    async with db.transaction() as session:
        first, created = await People(session).get_or_register("telegram", "42")
        assert created
        again, created_again = await People(session).get_or_register("telegram", "42")
        assert (again.id, created_again) == (first.id, False)
        other, created_other = await People(session).get_or_register("viber", "42")
        assert created_other and other.id != first.id
    async with db.transaction() as session:
        stored, created = await People(session).get_or_register("telegram", "42")
        assert (stored.id, created) == (first.id, False)
        assert stored.reachable and stored.subscribed and stored.announcements
        assert stored.locale is None and stored.privacy_version is None
        assert stored.created_at.tzinfo is not None
        assert await People(session).count() == 2


async def test_get_or_register_is_safe_under_concurrency(db: Database) -> None:
    async def first_contact() -> tuple[int, bool]:
        async with db.transaction() as session:
            person, created = await People(session).get_or_register("telegram", "7")
            await asyncio.sleep(0)  # let the others interleave inside their transactions
            return person.id, created

    results = await asyncio.gather(*(first_contact() for _ in range(12)))
    assert len({person_id for person_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    async with db.transaction() as session:
        assert await People(session).count() == 1


async def test_people_choices_and_reachability(db: Database) -> None:
    person_id = await register(db, "5")
    async with db.transaction() as session:
        people = People(session)
        person = await people.get(person_id)
        assert person is not None
        await people.set_locale(person, "en")
        await people.set_region(person, "UA-46")
        await people.record_consent(person, 1, NOW)
        await people.set_announcements(person, False)
        await people.mark_unreachable("test", "5")
        await people.mark_unsubscribed("test", "5")
    async with db.transaction() as session:
        person = await People(session).get(person_id)
        assert person is not None
        assert (person.locale, person.region, person.privacy_version) == ("en", "UA-46", 1)
        assert person.consent_at == NOW
        assert not person.announcements and not person.reachable and not person.subscribed
        await People(session).touch(person, at=NOW + timedelta(days=1))
    async with db.transaction() as session:
        person = await People(session).get(person_id)
        assert person is not None
        assert person.reachable and person.subscribed
        assert person.last_seen_at == NOW + timedelta(days=1)
        assert list(await People(session).all_ids()) == [person_id]


# -- dialog state -------------------------------------------------------------------


async def test_dialog_state_round_trip_and_versions(db: Database) -> None:
    person_id = await register(db)
    state = StoredState(
        dialog="booking",
        step="date",
        data={"office": "kyiv-1", "answers": [1, "two", None], "ok": True, "уже": "так"},
        history=["office", "service"],
        offered={"d:2026-11-30": "30 листопада"},
        failures=2,
    )
    async with db.transaction() as session:
        assert await DialogStates(session).load(person_id) is None
        await DialogStates(session).save(person_id, state)
    assert state.version == 1
    async with db.transaction() as session:
        loaded = await DialogStates(session).load(person_id)
    assert loaded == state
    async with db.transaction() as session:
        loaded.step = "time"
        await DialogStates(session).save(person_id, loaded)
        await DialogStates(session).save(person_id, loaded)  # twice in one event is fine
    async with db.transaction() as session:
        again = await DialogStates(session).load(person_id)
        assert again is not None and (again.step, again.version) == ("time", 3)
        assert await DialogStates(session).count_active() == 1


async def test_saving_a_stale_state_is_refused(db: Database) -> None:
    person_id = await register(db)
    async with db.transaction() as session:
        await DialogStates(session).save(person_id, StoredState(dialog="menu", step="main"))
    async with db.transaction() as session:
        mine = await DialogStates(session).load(person_id)
        theirs = await DialogStates(session).load(person_id)
    assert mine is not None and theirs is not None
    async with db.transaction() as session:
        theirs.step = "other"
        await DialogStates(session).save(person_id, theirs)
    with pytest.raises(StaleStateError):
        async with db.transaction() as session:
            await DialogStates(session).save(person_id, mine)
    with pytest.raises(StaleStateError):  # a second "first" state for the same person
        async with db.transaction() as session:
            await DialogStates(session).save(person_id, StoredState(dialog="menu", step="main"))
    async with db.transaction() as session:
        stored = await DialogStates(session).load(person_id)
        assert stored is not None and (stored.step, stored.version) == ("other", 2)


async def test_interleaved_writers_are_caught_by_the_database(db: Database) -> None:
    """Two transactions open at once, without the per-person lock (PostgreSQL only:
    SQLite's BEGIN IMMEDIATE never lets two write transactions be open together)."""
    if not db.is_postgres:
        pytest.skip("SQLite serialises write transactions from their start")
    person_id = await register(db)
    async with db.transaction() as session:
        await DialogStates(session).save(person_id, StoredState(dialog="menu", step="main"))
    async with db.transaction() as first, db.transaction() as second:
        mine = await DialogStates(first).load(person_id)
        theirs = await DialogStates(second).load(person_id)
        assert mine is not None and theirs is not None
        mine.step = "mine"
        await DialogStates(first).save(person_id, mine)
        await first.commit()
        theirs.step = "theirs"
        with pytest.raises(StaleStateError):
            await DialogStates(second).save(person_id, theirs)


async def test_clearing_state(db: Database) -> None:
    person_id = await register(db)
    async with db.transaction() as session:
        await DialogStates(session).save(person_id, StoredState(dialog="booking", step="x"))
    async with db.transaction() as session:
        await DialogStates(session).clear(person_id)
    async with db.transaction() as session:
        assert await DialogStates(session).load(person_id) is None


# -- processed events, audit ------------------------------------------------------------


async def test_processed_events_are_claimed_once(db: Database) -> None:
    async with db.transaction() as session:
        events = ProcessedEvents(session)
        assert await events.claim("telegram", "100")
        assert not await events.claim("telegram", "100")
        assert await events.claim("viber", "100")
    async with db.transaction() as session:
        assert not await ProcessedEvents(session).claim("telegram", "100")

    async def claim() -> bool:
        async with db.transaction() as session:
            return await ProcessedEvents(session).claim("telegram", "200")

    assert sorted(await asyncio.gather(*(claim() for _ in range(8)))) == [False] * 7 + [True]


async def test_a_rolled_back_claim_can_be_claimed_again(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as session:
            assert await ProcessedEvents(session).claim("telegram", "300")
            raise RuntimeError("the handling failed")
    async with db.transaction() as session:
        assert await ProcessedEvents(session).claim("telegram", "300")


async def test_old_processed_events_are_forgotten(db: Database) -> None:
    async with db.transaction() as session:
        await ProcessedEvents(session).claim("telegram", "1")
    async with db.transaction() as session:
        await ProcessedEvents(session).forget_before(datetime.now(UTC) + timedelta(seconds=5))
    async with db.transaction() as session:
        assert await ProcessedEvents(session).claim("telegram", "1")


async def test_audit_log_records_and_filters(db: Database) -> None:
    async with db.transaction() as session:
        audit = AuditLog(session)
        await audit.record("staff:telegram:1", "broadcast.queued", announcement=3, audience="all")
        await audit.record("person:9", "person.erased")
        await audit.record("staff:telegram:1", "broadcast.cancelled", announcement=3)
    async with db.transaction() as session:
        recent = await AuditLog(session).recent()
        assert [entry.action for entry in recent] == [
            "broadcast.cancelled",
            "person.erased",
            "broadcast.queued",
        ]
        assert recent[2].details == {"announcement": 3, "audience": "all"}
        assert recent[2].at.tzinfo is not None
        erased = await AuditLog(session).recent(action="person.erased")
        assert [entry.actor for entry in erased] == ["person:9"]
        assert len(await AuditLog(session).recent(limit=1)) == 1


# -- erasure ----------------------------------------------------------------------------


async def test_erasing_a_person_cascades_to_their_rows(db: Database) -> None:
    gone, kept = await register(db, "gone"), await register(db, "kept")
    async with db.transaction() as session:
        for person_id in (gone, kept):
            await DialogStates(session).save(person_id, StoredState(dialog="menu", step="main"))
            assert await enqueue(
                session,
                person_id=person_id,
                kind="reminder",
                dedupe_key=f"test:{person_id}",
                replies=Reply(text="Reminder"),
                not_before=NOW,
            )
    async with db.transaction() as session:
        await People(session).erase(gone)
    async with db.transaction() as session:
        assert await People(session).get(gone) is None
        assert await DialogStates(session).load(gone) is None
        assert await DialogStates(session).load(kept) is not None
        owners = (await session.scalars(select(OutboxMessage.person_id))).all()
        assert owners == [kept]


def test_every_table_that_points_at_a_person_lets_erasure_through() -> None:
    """Erasure deletes the person row; a foreign key without ON DELETE would block it."""
    people = Base.metadata.tables["people"]
    for table in Base.metadata.sorted_tables:
        for key in table.foreign_keys:
            if key.column.table is people:
                assert key.ondelete in ("CASCADE", "SET NULL"), f"{table.name}.{key.parent.name}"


# -- transactions and locks ---------------------------------------------------------------


async def test_a_failed_transaction_leaves_nothing(db: Database) -> None:
    with pytest.raises(ValueError):
        async with db.transaction() as session:
            await People(session).get_or_register("test", "ghost")
            await AuditLog(session).record("x", "y")
            raise ValueError
    async with db.transaction() as session:
        assert await People(session).count() == 0
        assert await session.scalar(select(func.count()).select_from(AuditEntry)) == 0


async def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(
    sqlite_url: str,
) -> None:
    db = Database(sqlite_url)
    try:
        async with db.engine.connect() as conn:
            assert (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
            assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
            busy_timeout = (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar()
            assert busy_timeout is not None and busy_timeout >= 5000
    finally:
        await db.dispose()


async def test_sqlite_transactions_take_the_write_lock_at_begin(sqlite_url: str) -> None:
    """BEGIN IMMEDIATE: a transaction that reads first cannot later lose a write race."""
    db = Database(sqlite_url)
    path = make_url(sqlite_url).database
    assert path
    try:
        async with db.transaction() as session:
            await session.execute(text("SELECT 1"))  # nothing written yet
            other = sqlite3.connect(path, timeout=0, isolation_level=None)
            try:
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other.execute("BEGIN IMMEDIATE")
            finally:
                other.close()
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # free again after commit
        other.execute("ROLLBACK")
        other.close()
    finally:
        await db.dispose()


async def test_postgres_advisory_lock_is_held_until_the_transaction_ends(db: Database) -> None:
    if not db.is_postgres:
        pytest.skip("advisory locks are PostgreSQL's; SQLite uses BEGIN IMMEDIATE")
    key = lock_key("telegram", "42")
    assert key == lock_key("telegram", "42") != lock_key("telegram", "43")
    probe = "SELECT pg_try_advisory_xact_lock(:k)"
    async with db.transaction() as holder:
        await advisory_xact_lock(holder, "telegram", "42")
        async with db.transaction() as other:
            assert (await other.execute(text(probe), {"k": key})).scalar() is False
            assert (await other.execute(text(probe), {"k": lock_key("viber", "42")})).scalar()
    async with db.transaction() as other:
        assert (await other.execute(text(probe), {"k": key})).scalar() is True


# -- schema ------------------------------------------------------------------------------


def _schema_diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection,
        opts={
            "compare_type": True,
            # the scheduler's job table is APScheduler's, not ours
            "include_name": lambda name, kind, _parent: (
                not (kind == "table" and str(name).startswith("apscheduler"))
            ),
        },
    )
    return list(compare_metadata(context, Base.metadata))


async def test_migrations_match_the_models(db: Database) -> None:
    """`upgrade heads` (done by the fixture) gives exactly the schema the models describe."""
    async with db.engine.connect() as conn:
        diff = await conn.run_sync(_schema_diff)
    assert diff == [], "run `python -m storage.migrate` to write the missing migration"


async def test_every_model_table_exists_after_migration(db: Database) -> None:
    async with db.engine.connect() as conn:
        names = await conn.run_sync(lambda sync: set(sync.dialect.get_table_names(sync)))
    assert set(Base.metadata.tables) <= names
    assert "alembic_version" in names
    assert {Person.__tablename__, DialogStateRow.__tablename__} <= names


# -- pooled connections ------------------------------------------------------------
async def drop_connections_of(db: Database) -> None:
    """What a server restart or an idle timeout does to the pool's connections."""
    async with db.transaction() as session:
        mine = await session.scalar(text("SELECT pg_backend_pid()"))
    killer = Database(db.url)
    try:
        async with killer.transaction() as session:
            await session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": mine})
    finally:
        await killer.dispose()
    await asyncio.sleep(0.1)


async def test_a_connection_dropped_while_it_rested_is_replaced_unseen(
    postgres_migrated: str,
) -> None:
    """Rested connections are pinged before use (busy ones are not: a ping is three round
    trips per transaction); one the server dropped is replaced, and nobody sees it."""
    db = Database(postgres_migrated, pool_size=1, ping_idle_after=0.0)
    try:
        await drop_connections_of(db)
        async with db.transaction() as session:
            assert await session.scalar(text("SELECT 1")) == 1
    finally:
        await db.dispose()
    # Without the ping, the same use fails: what the ping is there for.
    db = Database(postgres_migrated, pool_size=1, ping_idle_after=3600.0)
    try:
        await drop_connections_of(db)
        with pytest.raises(Exception, match="connection"):
            async with db.transaction() as session:
                await session.scalar(text("SELECT 1"))
        async with db.transaction() as session:  # the pool replaced it after the failure
            assert await session.scalar(text("SELECT 1")) == 1
    finally:
        await db.dispose()
