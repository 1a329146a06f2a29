"""Group commit: the events that are ready share one transaction, each in a savepoint.

A failing event is undone alone (the others in its batch commit) and still gets
the apology; a state written meanwhile by another worker makes the event be
handled again on the new state; the statements per event stay at two (three when
the person is not in the cache).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import DBAPIError

from bot.app import App
from bot.engine import Context, Dialog, Incoming, Kind, Step
from handlers.conversation import Conversation
from storage.models import DialogStateRow, UsageEvent
from storage.repositories import People, ProcessedEvents
from tests.conftest import onboard

PEOPLE = 12


Gate = tuple[asyncio.Event, asyncio.Event]  # (arrived, may go on)


def probing_dialog(
    gates: dict[str, Gate] | None = None, *, first: Callable[[], Awaitable[None]] | None = None
) -> Dialog:
    """`contacts` replaced by a step that writes through the ORM, then fails on "boom";
    with `gates`, the first handling of a text waits at its gate after reading the state;
    `first` runs at the start of every handling."""
    dialog = Dialog("contacts")

    @dialog.step("ask")
    class Ask(Step):
        async def show(self, ctx: Context) -> None:
            ctx.ask("Type anything")

        async def handle(self, ctx: Context, incoming: Incoming) -> None:
            if first is not None:
                await first()
            ctx.count("probe", ctx.event.user_id)  # an ORM write inside the event's savepoint
            ctx.data["seen"] = [*ctx.data.get("seen", []), incoming.text]
            gate = (gates or {}).pop(incoming.text, None)
            if gate is not None:
                arrived, may_go_on = gate
                arrived.set()
                await may_go_on.wait()
            if incoming.text == "boom":
                raise RuntimeError("a bug in one dialog")
            ctx.say(f"got {incoming.text}")

    return dialog


async def versions(app: App) -> dict[str, int]:
    async with app.db.transaction() as session:
        rows = (
            await session.execute(select(DialogStateRow.person_id, DialogStateRow.version))
        ).all()
        ids = {}
        for user in range(PEOPLE):
            person = await People(session).find("test", str(user))
            if person is not None:
                ids[person.id] = str(user)
    return {ids[person_id]: version for person_id, version in rows if person_id in ids}


async def test_a_failing_event_is_undone_alone_and_the_rest_of_its_batch_commits(
    app: App,
) -> None:
    app.engine.dialogs.register(probing_dialog())
    chats = [Conversation(app.engine, user_id=str(n)) for n in range(PEOPLE)]
    for chat in chats:
        await onboard(chat)
        await chat.presses("Contacts")
    before = await versions(app)
    batches = app.engine.batches

    texts = ["boom" if n == 3 else f"hello {n}" for n in range(PEOPLE)]
    answers = await asyncio.gather(
        *(
            app.engine.handle(Incoming("test", str(n), Kind.TEXT, text=text, event_id=f"e{n}"))
            for n, text in enumerate(texts)
        )
    )

    assert app.engine.batches - batches < PEOPLE  # they shared transactions
    assert app.engine.careful_batches >= 1  # the failing event's batch ran again, carefully
    for n, replies in enumerate(answers):
        said = replies[0].text
        assert ("Sorry" in said) if n == 3 else said == f"got hello {n}", said
    after = await versions(app)
    assert all(after[str(n)] == before[str(n)] + 1 for n in range(PEOPLE))  # recovery too
    async with app.db.transaction() as session:
        probes = await session.scalars(select(UsageEvent.key).where(UsageEvent.metric == "probe"))
        # the failed event's own write was rolled back with it, the others' were not
        assert sorted(probes.all()) == sorted(str(n) for n in range(PEOPLE) if n != 3)
    assert app.metrics.dialog_errors._value.get() == 1
    # Redelivered, the whole batch is handled once: nothing is answered again.
    again = await asyncio.gather(
        *(
            app.engine.handle(Incoming("test", str(n), Kind.TEXT, text=text, event_id=f"e{n}"))
            for n, text in enumerate(texts)
        )
    )
    assert again == [[]] * PEOPLE
    assert await versions(app) == after


async def test_an_event_costs_two_statements_three_when_read_and_a_batch_one_begin_and_commit(
    sqlite_app: App,
) -> None:
    """Counted on SQLite, where every statement on the connection can be traced.

    Someone the process handled a moment ago is in its cache: their update writes the
    state and claims the delivery id. Read again (the cache emptied), it also reads.
    """
    chats = [Conversation(sqlite_app.engine, user_id=str(n)) for n in range(PEOPLE)]
    for chat in chats:
        await onboard(chat)
        await chat.presses("My data")
    traced: list[str] = []
    await sqlite_app.db.engine.dispose()  # new connections, traced from the first statement

    @event.listens_for(sqlite_app.db.engine.sync_engine, "connect")
    def _trace(dbapi_connection: Any, _record: Any) -> None:
        raw: sqlite3.Connection = dbapi_connection._connection._conn
        raw.set_trace_callback(traced.append)

    async def one_round(name: str) -> tuple[int, list[str]]:
        traced.clear()
        batches = sqlite_app.engine.batches
        await asyncio.gather(
            *(
                sqlite_app.engine.handle(
                    Incoming("test", str(n), Kind.BUTTON, payload="g:menu", event_id=f"{name}{n}")
                )
                for n in range(PEOPLE)
            )
        )
        count = sqlite_app.engine.batches - batches
        statements = [s.split()[0].upper() for s in traced if not s.startswith("PRAGMA")]
        assert statements.count("BEGIN") == statements.count("COMMIT") == count < PEOPLE
        frames = {"BEGIN", "COMMIT", "SAVEPOINT", "RELEASE"}
        return count, [s for s in statements if s not in frames]

    _, data = await one_round("cached")
    assert sorted(data) == sorted(["UPDATE", "INSERT"] * PEOPLE), traced
    sqlite_app.db.hot_cache.forget(None)
    _, data = await one_round("read")
    assert sorted(data) == sorted(["SELECT", "UPDATE", "INSERT"] * PEOPLE), traced


async def test_two_workers_racing_one_person_apply_both_events_in_turn(
    app: App, second_process: App
) -> None:
    """Worker A reads the state, worker B writes it and commits, then A tries to write:
    A's version check fails and A handles its event again on B's state."""
    if not app.db.is_postgres:
        pytest.skip("two processes writing at once is PostgreSQL's (SQLite has one writer)")
    arrived, may_go_on = asyncio.Event(), asyncio.Event()
    app.engine.dialogs.register(probing_dialog({"from A": (arrived, may_go_on)}))
    second_process.engine.dialogs.register(probing_dialog())
    chat = Conversation(app.engine)
    await onboard(chat)
    await chat.presses("Contacts")
    before = (await versions(app))["1"]

    a = asyncio.create_task(
        app.engine.handle(Incoming("test", "1", Kind.TEXT, text="from A", event_id="a"))
    )
    await asyncio.wait_for(arrived.wait(), 10)  # A has read the state, inside its batch
    b = await second_process.engine.handle(
        Incoming("test", "1", Kind.TEXT, text="from B", event_id="b")
    )
    assert b[0].text == "got from B"
    may_go_on.set()
    assert (await a)[0].text == "got from A"

    assert app.engine.stale_retries == 1
    async with app.db.transaction() as session:
        row = (await session.scalars(select(DialogStateRow))).one()
        assert row.data["seen"] == ["from B", "from A"]  # neither event lost
        assert row.version == before + 2
        probes = await session.scalar(
            select(func.count()).select_from(UsageEvent).where(UsageEvent.metric == "probe")
        )
        assert probes == 2  # A's first, undone attempt left nothing


async def test_a_failing_event_another_worker_handled_already_gets_no_apology(
    sqlite_app: App,
) -> None:
    """The apology claims the delivery id too: taken, the other worker answered."""
    sqlite_app.engine.dialogs.register(probing_dialog())
    chat = Conversation(sqlite_app.engine)
    await onboard(chat)
    await chat.presses("Contacts")
    before = (await versions(sqlite_app))["1"]
    async with sqlite_app.db.transaction() as session:
        assert await ProcessedEvents(session).claim("test", "handled-elsewhere")

    replies = await sqlite_app.engine.handle(
        Incoming("test", "1", Kind.TEXT, text="boom", event_id="handled-elsewhere")
    )

    assert replies == []
    assert (await versions(sqlite_app))["1"] == before  # the apology's state undone too


async def test_on_postgresql_the_next_batch_is_handled_while_the_last_one_commits(
    app: App,
) -> None:
    """Pipelining: a batch waiting on its writes (here: a row lock another connection
    holds; in production, round trips and the commit's fsync) does not hold up the
    next person's answer. SQLite has one writer: there the next batch waits."""
    if app.db.engine.dialect.name == "sqlite":
        assert app.engine.pipeline == 1
        return
    app.engine.dialogs.register(probing_dialog())
    slow, other = Conversation(app.engine, user_id="1"), Conversation(app.engine, user_id="2")
    for chat in (slow, other):
        await onboard(chat)
        await chat.presses("Contacts")
    async with app.db.transaction() as session:
        slow_id = (await People(session).find("test", "1")).id  # type: ignore[union-attr]
    blocker = app.db.sessions()
    try:
        await blocker.execute(
            select(DialogStateRow).where(DialogStateRow.person_id == slow_id).with_for_update()
        )
        held_up = asyncio.create_task(slow.says("first"))
        await asyncio.sleep(0.3)  # its batch waits at the state's write now
        assert not held_up.done()
        async with asyncio.timeout(5):
            answer = await other.says("second")
        assert "got second" in answer[0].text
        assert not held_up.done()
    finally:
        await blocker.rollback()
        await blocker.close()
    async with asyncio.timeout(5):
        assert "got first" in (await held_up)[0].text


async def test_a_person_another_worker_keeps_writing_is_locked_once_found_stale(
    app: App,
) -> None:
    """Every time the step runs, another worker writes the person's state first: each
    handling finds it stale. The careful rerun locks the state before it reads it again,
    so the other worker waits and the event is answered (without the lock every try lost
    the race, and the person got an apology)."""
    if not app.db.is_postgres:
        pytest.skip("two processes writing at once is PostgreSQL's (SQLite has one writer)")
    chat = Conversation(app.engine)
    await onboard(chat)
    async with app.db.transaction() as session:
        person_id = (await People(session).find("test", "1")).id  # type: ignore[union-attr]
    raced, waited = [], []

    async def another_worker_writes() -> None:
        try:
            async with app.db.transaction() as session:
                await session.execute(text("SET LOCAL lock_timeout = '300ms'"))
                await session.execute(
                    text("UPDATE dialog_states SET version = version + 1 WHERE person_id = :p"),
                    {"p": person_id},
                )
            raced.append(1)
        except DBAPIError:  # the row is locked: it waits for the update to commit
            waited.append(1)

    app.engine.dialogs.register(probing_dialog(first=another_worker_writes))
    await chat.presses("Contacts")

    answer = await chat.says("hello")

    assert answer[0].text == "got hello"
    assert app.metrics.dialog_errors._value.get() == 0
    assert waited == [1]  # the last try held the lock; every earlier one lost the race
    assert app.engine.stale_retries == len(raced) < 5
