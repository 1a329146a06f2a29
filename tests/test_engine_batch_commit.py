"""A batch whose COMMIT fails: nothing of it is written, and every event is handled again
alone, each exactly once; an event whose own COMMIT fails still gets an apology."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError

from bot.app import App
from bot.engine import Incoming, Kind
from handlers.conversation import Conversation
from storage.models import UsageEvent
from tests.conftest import onboard
from tests.test_engine_group_commit import PEOPLE, probing_dialog, versions


@contextmanager
def failing_commits(app: App, times: int) -> Iterator[list[int]]:
    """The next `times` COMMITs fail as a lost connection would."""
    failed: list[int] = []

    def fail(_conn: Any) -> None:
        if len(failed) < times:
            failed.append(1)
            raise OperationalError("COMMIT", {}, Exception("connection lost at commit"))

    engine = app.db.engine.sync_engine
    event.listen(engine, "commit", fail)
    try:
        yield failed
    finally:
        event.remove(engine, "commit", fail)


async def probes(app: App) -> list[str]:
    async with app.db.transaction() as session:
        keys = await session.scalars(select(UsageEvent.key).where(UsageEvent.metric == "probe"))
        return sorted(keys.all())


async def test_a_batch_that_fails_to_commit_is_handled_again_event_by_event(app: App) -> None:
    app.engine.dialogs.register(probing_dialog())
    for n in range(PEOPLE):
        chat = Conversation(app.engine, user_id=str(n))
        await onboard(chat)
        await chat.presses("Contacts")
    before = await versions(app)
    batches = app.engine.batches

    with failing_commits(app, times=1) as failed:
        answers = await asyncio.wait_for(
            asyncio.gather(
                *(
                    app.engine.handle(
                        Incoming("test", str(n), Kind.TEXT, text=f"hi {n}", event_id=f"c{n}")
                    )
                    for n in range(PEOPLE)
                )
            ),
            timeout=60,  # a lost event leaves its caller waiting: fail, don't hang
        )

    assert failed == [1]
    assert [replies[0].text for replies in answers] == [f"got hi {n}" for n in range(PEOPLE)]
    # the failed batch wrote nothing; each event was then committed once, on its own
    after = await versions(app)
    assert after == {str(n): before[str(n)] + 1 for n in range(PEOPLE)}
    assert await probes(app) == sorted(str(n) for n in range(PEOPLE))
    assert app.engine.batches - batches >= PEOPLE - 1  # the retries went one by one
    assert app.metrics.dialog_errors._value.get() == 0


async def test_an_event_whose_commit_fails_gets_the_apology_and_is_not_half_written(
    app: App,
) -> None:
    app.engine.dialogs.register(probing_dialog())
    chat = Conversation(app.engine, user_id="1")
    await onboard(chat)
    await chat.presses("Contacts")
    before = await versions(app)

    with failing_commits(app, times=1):
        replies = await app.engine.handle(
            Incoming("test", "1", Kind.TEXT, text="lost", event_id="x1")
        )

    assert "Sorry" in replies[0].text  # never silence
    assert await probes(app) == []  # the step's own write went with the failed commit
    async with app.db.transaction() as session:
        count = await session.scalar(
            select(func.count()).select_from(UsageEvent).where(UsageEvent.metric == "probe")
        )
    assert count == 0
    assert (await versions(app))["1"] == before["1"] + 1  # the apology's state, once
    # Telegram sends the update again: it was answered (with the apology), not again.
    assert (
        await app.engine.handle(Incoming("test", "1", Kind.TEXT, text="lost", event_id="x1")) == []
    )
