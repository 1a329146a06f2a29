"""The outbox worker through the real Telegram messenger (aiogram) and the Bot API double."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from sqlalchemy import select

from bot.app import App, build_app
from handlers.telegram.messenger import TelegramMessenger
from storage.models import Person
from tests.broadcast_support import (
    RunningWorker,
    add_people,
    announce,
    announcement,
    max_in_any_window,
    remaining,
    wait_until,
)
from tests.conftest import make_settings
from tests.doubles.telegram_api import TelegramApiDouble

PEOPLE = 120
RATE = 60


@pytest.fixture
async def telegram_api() -> AsyncIterator[TelegramApiDouble]:
    double = await TelegramApiDouble().start()
    yield double
    await double.stop()


@pytest.fixture
async def app(sqlite_url: str, telegram_api: TelegramApiDouble) -> AsyncIterator[App]:
    application = await build_app(
        make_settings(sqlite_url, telegram_rate_limit=RATE), migrate=False
    )
    bot = Bot(
        token=telegram_api.token,
        session=AiohttpSession(api=TelegramAPIServer.from_base(telegram_api.base_url)),
    )
    application.messengers.add(TelegramMessenger(bot, application.metrics))
    yield application
    await bot.session.close()
    await application.close()


async def _finished(app: App, announcement_id: int) -> bool:
    return not await remaining(app, announcement_id)


async def test_announcement_over_the_bot_api_with_403_and_429(
    app: App, telegram_api: TelegramApiDouble
) -> None:
    await add_people(app, PEOPLE, first=1001)
    for chat_id in range(1001, 1001 + PEOPLE):
        telegram_api.know_chat({"id": chat_id, "type": "private", "first_name": "Olena"})
    telegram_api.block(1007)
    telegram_api.flood("sendMessage", retry_after=1)
    announcement_id = await announce(app)

    async with RunningWorker(app):
        await wait_until(lambda: _finished(app, announcement_id), limit=30)

    for chat_id in range(1001, 1001 + PEOPLE):
        received = telegram_api.sent_to(chat_id)
        assert len(received) == (0 if chat_id == 1007 else 1), chat_id
    assert telegram_api.sent_to(1002)[0].text.startswith("📢 Оголошення")
    sends = [call.at for call in telegram_api.calls_of("sendMessage")]
    assert max_in_any_window(sends) <= RATE
    done = await announcement(app, announcement_id)
    assert (done.sent, done.blocked) == (PEOPLE - 1, 1)
    async with app.db.transaction() as session:
        blocked = await session.scalar(select(Person).where(Person.platform_user_id == "1007"))
        assert blocked is not None and blocked.reachable is False
