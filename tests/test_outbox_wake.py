"""The outbox wakes itself: a commit that queued rows tells this process's workers.

Whoever enqueues marks the transaction (`enqueue` does it); the database's
sessions call the listening signals once that transaction commits — not
before, not after a rollback, and not lost when a savepoint inside it rolls back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from bot.delivery import enqueue
from bot.engine.events import Reply
from storage.db import Database
from storage.repositories import People


class Recorder:
    def __init__(self) -> None:
        self.wakes = 0

    def wake(self) -> None:
        self.wakes += 1


NOW = datetime(2026, 11, 24, 10, tzinfo=UTC)


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    yield database
    await database.dispose()


async def _queue(
    db: Database, key: str, *, fail: bool = False, in_savepoint: bool = False
) -> None:
    async with db.transaction() as session:
        person, _ = await People(session).get_or_register("test", "1")
        await enqueue(
            session,
            person_id=person.id,
            kind="status",
            dedupe_key=key,
            replies=Reply(text="hello"),
            not_before=NOW,
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
