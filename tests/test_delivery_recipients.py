"""Every bot-initiated message reaches exactly the person it is addressed to.

Two terminal chats share one database (`python -m bot chat` and
`python -m bot chat --user anna`, each with its own outbox worker), and two
Telegram people are served through the real aiogram stack and the Bot API
double. An announcement to all of them must show each person their own copy,
once, and nobody else's.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from sqlalchemy import update

from bot.app import App, build_app
from bot.services.booking.reminders import catalog_of
from bot.services.status import follows
from handlers.demo_delivery import TerminalMessenger
from handlers.telegram.messenger import TelegramMessenger
from storage.models import Person
from tests.booking_support import book, kyiv, make_people
from tests.broadcast_support import (
    FakePlatform,
    RunningWorker,
    add_people,
    announce,
    outbox_rows,
    remaining,
    wait_until,
)
from tests.conftest import Clock, make_settings
from tests.doubles.telegram_api import TelegramApiDouble
from tests.status_support import DEMO_ROWS, application_id, csv_text, import_csv, person

APPROVED = "VPO-2026-000123,1984-03-15,approved,2026-11-24T09:00:00+02:00,"
OFFICE = "kyiv-cnap-obolon"  # demo data: Thursday 09:00–18:00, 20-minute slots
THU_10 = kyiv(2026, 11, 26, 10)


@pytest.fixture
async def telegram_api() -> AsyncIterator[TelegramApiDouble]:
    double = await TelegramApiDouble().start()
    yield double
    await double.stop()


async def test_each_person_gets_exactly_their_own_message(
    sqlite_url: str, telegram_api: TelegramApiDouble
) -> None:
    settings = make_settings(sqlite_url)
    demo_app = await build_app(settings, migrate=False)
    anna_app = await build_app(settings, migrate=False)
    bot = Bot(
        token=telegram_api.token,
        session=AiohttpSession(api=TelegramAPIServer.from_base(telegram_api.base_url)),
    )
    try:
        demo_out, anna_out = io.StringIO(), io.StringIO()
        demo_app.messengers.add(TerminalMessenger(demo_out, user_id="demo"))
        anna_app.messengers.add(TerminalMessenger(anna_out, user_id="anna"))
        demo_app.messengers.add(TelegramMessenger(bot, demo_app.metrics))
        await add_people(demo_app, 2, first=1001)
        for chat_id in (1001, 1002):
            telegram_api.know_chat({"id": chat_id, "type": "private", "first_name": "Olena"})
        await add_people(demo_app, 1, platform="terminal", first=0)
        await add_people(demo_app, 1, platform="terminal", first=1, locale="en")
        async with demo_app.db.transaction() as session:  # the terminal people's names
            await session.execute(
                update(Person)
                .where(Person.platform == "terminal", Person.platform_user_id == "0")
                .values(platform_user_id="demo")
            )
            await session.execute(
                update(Person)
                .where(Person.platform == "terminal", Person.platform_user_id == "1")
                .values(platform_user_id="anna")
            )
        announcement_id = await announce(demo_app)

        # demo's process starts first and runs alone for a while: it must leave anna's row.
        async with RunningWorker(demo_app):
            await wait_until(lambda: len(telegram_api.sent) == 2)
            await wait_until(lambda: "Виплати 5 грудня" in demo_out.getvalue())
            await wait_until(lambda: _at_most_left(demo_app, announcement_id, 1))
            assert "Payments on 5 December" not in demo_out.getvalue()
            assert await remaining(demo_app, announcement_id) == 1
            async with RunningWorker(anna_app):
                await wait_until(lambda: "Payments on 5 December" in anna_out.getvalue())
                await wait_until(lambda: _none_left(demo_app, announcement_id))

        assert demo_out.getvalue().count("📢") == 1
        assert "Payments on 5 December" not in demo_out.getvalue()
        assert anna_out.getvalue().count("📢") == 1
        assert "Виплати" not in anna_out.getvalue()
        assert [m.chat_id for m in telegram_api.sent] in ([1001, 1002], [1002, 1001])
        rows = await outbox_rows(demo_app, announcement_id=announcement_id)
        assert [r.state for r in rows] == ["sent"] * 4
    finally:
        await bot.session.close()
        await anna_app.close()
        await demo_app.close()


async def _none_left(app: App, announcement_id: int) -> bool:
    return not await remaining(app, announcement_id)


async def _at_most_left(app: App, announcement_id: int, n: int) -> bool:
    return await remaining(app, announcement_id) <= n


# -- the person's language at the moment of sending -------------------------------------


async def _switch_to_english(app: App, person_id: int) -> None:
    async with app.db.transaction() as session:
        found = await session.get(Person, person_id)
        assert found is not None
        found.locale = "en"


async def _deliver_all(app: App) -> FakePlatform:
    platform = FakePlatform("test")
    app.messengers.add(platform)
    async with RunningWorker(app):
        await wait_until(lambda: _all_settled(app))
    return platform


async def _all_settled(app: App) -> bool:
    rows = await outbox_rows(app)
    return bool(rows) and all(r.state not in ("pending", "sending") for r in rows)


async def test_status_notice_is_sent_in_the_language_chosen_since(sqlite_app: App) -> None:
    await import_csv(sqlite_app, csv_text(*DEMO_ROWS))
    follower = await person(sqlite_app, "1", "uk")
    async with sqlite_app.db.transaction() as session:
        app_id = await application_id(sqlite_app, "VPO2026000123")
        await follows.follow(session, follower, app_id, sqlite_app.runtime.now())
    await import_csv(sqlite_app, csv_text(APPROVED))  # queued while they read Ukrainian
    await _switch_to_english(sqlite_app, follower)
    platform = await _deliver_all(sqlite_app)
    (text,) = platform.received["1"]
    assert "Your application status has changed" in text and "Approved" in text
    assert "змін" not in text


async def test_announcement_is_sent_in_the_language_chosen_since(sqlite_app: App) -> None:
    (person_id,) = await add_people(sqlite_app, 1, platform="test", locale="uk")
    await announce(sqlite_app)
    await _switch_to_english(sqlite_app, person_id)
    platform = await _deliver_all(sqlite_app)
    (text,) = platform.received["1"]
    assert "Payments on 5 December" in text and "To stop announcements" in text
    assert "Виплати" not in text


async def test_booking_reminder_is_sent_in_the_language_chosen_since(
    sqlite_app: App, clock: Clock
) -> None:
    (person_id,) = await make_people(sqlite_app.db, 1, locale="uk")
    catalog = catalog_of(sqlite_app.runtime)
    result = await book(sqlite_app.db, catalog, person_id, THU_10, clock(), office_id=OFFICE)
    assert result.appointment is not None
    # Booking queued the reminders in Ukrainian (and every other language).
    clock.current = THU_10 - timedelta(hours=2)  # the day-ahead one is long past: skipped
    await _switch_to_english(sqlite_app, person_id)
    platform = await _deliver_all(sqlite_app)
    (text,) = next(iter(platform.received.values()))
    assert "2 hours" in text and "години" not in text


async def test_a_specialists_answer_is_sent_in_the_language_chosen_since(
    sqlite_app: App,
) -> None:
    from bot.services.cases import service as cases

    person_id = await person(sqlite_app, "1", "uk")
    staff = "telegram:77"
    now = sqlite_app.runtime.now()
    async with sqlite_app.db.transaction() as session:
        citizen = await session.get(Person, person_id)
        assert citizen is not None
        case = await cases.open_case(session, citizen, topic="other", text="Питання", now=now)
        assert await cases.take(session, case.id, staff, frozenset({staff}), now)
        answered = await cases.reply(
            session,
            case.id,
            staff,
            "Подайте заяву до п'ятниці.",
            now,
            staff_ids=frozenset({staff}),
            default_locale="uk",
        )
        assert answered is not None
    await _switch_to_english(sqlite_app, person_id)  # after the answer was queued
    platform = await _deliver_all(sqlite_app)
    (text,) = platform.received["1"]
    assert "Answer from a specialist" in text and "Подайте заяву до п'ятниці." in text
    assert "Відповідь фахівця" not in text
