"""One person's events one at a time, even when they arrive together; people in parallel.

Runs on SQLite and on PostgreSQL (the `app` fixture is parametrised by `db_url`).
"""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy import func, select

from bot.app import App
from bot.engine import Incoming, Kind, Reply
from bot.engine.engine import offered_buttons
from handlers.conversation import Conversation
from storage.models import DialogStateRow, Person
from storage.repositories import DialogStates, People
from tests.conftest import onboard

# What two hurried hands might send: buttons (some stale by the time they land),
# typed globals, nonsense, commands.
BURST: list[tuple[Kind, str]] = [
    (Kind.BUTTON, "m:data"),
    (Kind.BUTTON, "g:menu"),
    (Kind.TEXT, "menu"),
    (Kind.BUTTON, "m:contacts"),
    (Kind.TEXT, "blah"),
    (Kind.COMMAND, "/help"),
    (Kind.BUTTON, "g:resume"),
    (Kind.BUTTON, "delete"),
    (Kind.BUTTON, "no"),
    (Kind.UNSUPPORTED, ""),
]


def burst_event(number: int, user_id: str = "1") -> Incoming:
    kind, value = BURST[number % len(BURST)]
    button = kind is Kind.BUTTON
    return Incoming(
        "test",
        user_id,
        kind,
        text="" if button else value,
        payload=value if button else "",
        event_id=f"burst-{user_id}-{number}",
    )


async def stored_state(app: App, user_id: str = "1") -> DialogStateRow:
    async with app.db.transaction() as session:
        person = await People(session).find("test", user_id)
        assert person is not None
        row = await session.get(DialogStateRow, person.id)
        assert row is not None
        return row


def assert_consistent(app: App, row: DialogStateRow, answers: list[list[Reply]]) -> None:
    dialog = app.engine.dialogs.get(row.dialog)
    assert dialog is not None and dialog.get(row.step) is not None, (row.dialog, row.step)
    # The buttons remembered are exactly those of one answer: the last one committed.
    assert any(row.offered == offered_buttons(replies) for replies in answers)
    assert row.failures < 3


def assert_no_apology(app: App, answers: list[list[Reply]]) -> None:
    assert app.metrics.dialog_errors._value.get() == 0
    for replies in answers:
        assert replies, "every event is answered"
        assert not any("Sorry" in reply.text for reply in replies)


async def test_fifty_concurrent_events_from_one_person(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    chat = Conversation(app.engine)
    await onboard(chat)
    before = (await stored_state(app)).version

    answers = await asyncio.gather(*(app.engine.handle(burst_event(n)) for n in range(50)))

    assert_no_apology(app, answers)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    row = await stored_state(app)
    assert row.version == before + 50  # every event saved once, none lost or doubled
    assert_consistent(app, row, answers)
    assert len(app.engine.locks) == 0  # the per-person locks are forgotten afterwards


async def test_concurrent_events_through_two_processes(app: App, second_process: App) -> None:
    chat = Conversation(app.engine)
    await onboard(chat)
    before = (await stored_state(app)).version

    engines = [app.engine, second_process.engine]
    answers = await asyncio.gather(
        *(engines[n % 2].handle(burst_event(n)) for n in range(40)),
        # the same deliveries again, through the other process: handled once overall
        *(engines[(n + 1) % 2].handle(burst_event(n)) for n in range(0, 40, 4)),
    )

    answered = [replies for replies in answers if replies]
    assert len(answered) == 40
    assert_no_apology(app, answered)
    assert second_process.metrics.dialog_errors._value.get() == 0
    row = await stored_state(app)
    assert row.version == before + 40
    assert_consistent(app, row, answered)


async def test_two_hundred_people_in_parallel_each_complete_a_flow(app: App) -> None:
    async def walk(number: int) -> None:
        language = "en" if number % 2 else "uk"
        chat = Conversation(app.engine, user_id=f"p{number}")
        await chat.says("/start")
        chat.expect("Оберіть мову")
        await chat.presses("English" if language == "en" else "Українська")
        await chat.presses("I agree" if language == "en" else "Погоджуюся")
        chat.expect("Main menu" if language == "en" else "Головне меню")
        await chat.presses("Contacts" if language == "en" else "Контакти")
        chat.expect("1545", "0 800 503 753")

    await asyncio.gather(*(walk(number) for number in range(200)))

    assert app.metrics.dialog_errors._value.get() == 0
    async with app.db.transaction() as session:
        assert await People(session).count() == 200
        rows = await session.execute(select(Person.locale, func.count()).group_by(Person.locale))
        by_locale = {locale: count for locale, count in rows}
        assert by_locale == {"en": 100, "uk": 100}
        states = (await session.scalars(select(DialogStateRow))).all()
        assert {(s.dialog, s.step, s.version) for s in states} == {("contacts", "list", 4)}
        assert await DialogStates(session).count_active() == 200
        consented = await session.scalar(
            select(func.count()).select_from(Person).where(Person.privacy_version == 1)
        )
        assert consented == 200
