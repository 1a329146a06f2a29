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

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from sqlalchemy import update

from bot.app import App, build_app
from handlers.demo_delivery import TerminalMessenger
from handlers.telegram.messenger import TelegramMessenger
from storage.models import Person
from tests.broadcast_support import (
    RunningWorker,
    add_people,
    announce,
    outbox_rows,
    remaining,
    wait_until,
)
from tests.conftest import make_settings
from tests.doubles.telegram_api import TelegramApiDouble


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
