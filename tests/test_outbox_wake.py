"""The outbox wakes itself: a commit that queued rows tells this process's workers.

Whoever enqueues marks the transaction (`enqueue` does it); the database's
sessions call the listening signals once that transaction commits — not
before, not after a rollback, and not lost when a savepoint inside it rolls back.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from bot.app import build_app
from bot.delivery import enqueue
from bot.engine.events import Reply
from storage.db import Database
from storage.repositories import People
from tests.broadcast_support import FakePlatform, RunningWorker, wait_until
from tests.conftest import Clock, make_settings


class Recorder:
    def __init__(self) -> None:
        self.wakes = 0
        self.dues: list[datetime | None] = []

    def wake(self, due: datetime | None = None) -> None:
        self.wakes += 1
        self.dues.append(due)


NOW = datetime(2026, 11, 24, 10, tzinfo=UTC)


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    yield database
    await database.dispose()


async def _queue(
    db: Database,
    key: str,
    *,
    fail: bool = False,
    in_savepoint: bool = False,
    due: tuple[datetime, ...] = (NOW,),
) -> None:
    async with db.transaction() as session:
        person, _ = await People(session).get_or_register("test", "1")
        for n, not_before in enumerate(due):
            await enqueue(
                session,
                person_id=person.id,
                kind="status",
                dedupe_key=f"{key}-{n}" if n else key,
                replies=Reply(text="hello"),
                not_before=not_before,
            )
        if in_savepoint:
            with pytest.raises(ValueError):
                async with session.begin_nested():
                    await session.execute(text("SELECT 1"))
                    raise ValueError
        if fail:
            raise RuntimeError("rolled back")


async def test_a_commit_that_queued_wakes_and_nothing_else_does(db: Database) -> None:
    signal = Recorder()
    db.listen_outbox(signal)
    async with db.transaction() as session:
        await People(session).get_or_register("test", "1")
    assert signal.wakes == 0, "nothing queued"

    await _queue(db, "a")
    assert signal.wakes == 1
    await _queue(db, "a")
    assert signal.wakes == 1, "already queued (dedupe key): nothing new to send"

    with pytest.raises(RuntimeError):
        await _queue(db, "b", fail=True)
    async with db.transaction():
        pass
    assert signal.wakes == 1, "a rolled-back enqueue wakes nobody, now or later"

    await _queue(db, "c", in_savepoint=True)
    assert signal.wakes == 2, "a savepoint's rollback keeps what the transaction queued"

    db.unlisten_outbox(signal)
    await _queue(db, "d")
    assert signal.wakes == 2


async def test_databases_wake_only_their_own_listeners(db_url: str, db: Database) -> None:
    other = Database(db_url)
    try:
        mine, theirs = Recorder(), Recorder()
        db.listen_outbox(mine)
        other.listen_outbox(theirs)
        await _queue(db, "x")
        assert (mine.wakes, theirs.wakes) == (1, 0)
    finally:
        await other.dispose()


async def test_the_wake_says_when_the_earliest_row_queued_is_due(db: Database) -> None:
    signal = Recorder()
    db.listen_outbox(signal)
    later, tomorrow = NOW + timedelta(hours=2), NOW + timedelta(days=1)

    await _queue(db, "reminders", due=(tomorrow, later))
    await _queue(db, "both", due=(tomorrow, NOW))

    assert signal.dues == [later, NOW]


async def test_a_row_for_later_costs_the_worker_no_claim_and_one_for_now_goes_at_once(
    sqlite_url: str, clock: Clock
) -> None:
    """Every booking queues its reminders: a wake for each had the worker claim (a
    transaction) and find nothing due. The lanes' poll sends them when they are due."""
    app = await build_app(make_settings(sqlite_url, db_count_statements=True), clock=clock)
    try:
        telegram = FakePlatform("telegram")
        app.messengers.add(telegram)
        async with app.db.transaction() as session:
            person, _ = await People(session).get_or_register("telegram", "1")

        async def queue(key: str, due: datetime) -> None:
            async with app.db.transaction() as session:
                await enqueue(
                    session,
                    person_id=person.id,
                    kind="status",
                    dedupe_key=key,
                    replies=Reply(text="hello"),
                    not_before=due,
                )

        async with RunningWorker(app, poll_seconds=3600) as worker:
            await worker.idle()
            assert app.db.statements is not None
            before = app.db.statements.value
            await queue("later", clock() + timedelta(hours=1))
            queued = app.db.statements.value - before
            await asyncio.sleep(0.2)
            assert app.db.statements.value - before == queued, "a claim followed"

            await queue("now", clock())
            await wait_until(lambda: telegram.received, limit=5)
        assert telegram.received == {"1": ["hello"]}
    finally:
        await app.close()
