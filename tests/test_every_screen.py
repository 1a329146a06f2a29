"""Every step of every dialog, rendered for each messenger and sent to its strict double.

The walk (tests/dialog_walk.py) collects every answer the engine gives in both languages,
as a citizen and as staff. Each one goes through the Viber renderer to the Viber double
(as strict as Viber: API levels, fields, sizes) for a current client (api_version 10),
an old one (3, Viber 7.6) and a very old one (1), by send_message and by broadcast;
and through the Telegram renderer to the Bot API double (HTML, lengths, callback data).
Nothing may be refused.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.app import App
from bot.metrics import Metrics
from bot.services.reachability import StoredReachability
from handlers.telegram.messenger import SINGLE_ATTEMPT, TelegramMessenger
from handlers.viber import render
from handlers.viber.client import ViberClient
from handlers.viber.messenger import ViberMessenger
from storage.repositories import People
from tests.dialog_walk import Screen, missed_steps, walk_once
from tests.doubles.telegram_api import TelegramApiDouble
from tests.doubles.viber_api import ViberDouble
from tests.viber_support import TOKEN

SENDER = "Соцпослуги"
#: a current Viber client, Viber 7.6 (API level 3), and the oldest there is
LEVELS = (10, 3, 1)

walks = pytest.mark.parametrize(
    ("locale", "staff"),
    [("uk", False), ("uk", True), ("en", False), ("en", True)],
    ids=["uk-citizen", "uk-staff", "en-citizen", "en-staff"],
)


def where(screen: Screen) -> str:
    return f"{screen.dialog}/{screen.step} after {' → '.join(screen.path[-4:])}"


@pytest.fixture
async def viber() -> AsyncIterator[ViberDouble]:
    double = ViberDouble(TOKEN)
    await double.start()
    yield double
    await double.stop()


@walks
async def test_every_screen_reaches_every_viber_client(
    sqlite_app: App, viber: ViberDouble, locale: str, staff: bool
) -> None:
    screens = await walk_once(sqlite_app, locale=locale, staff=staff)
    assert missed_steps(sqlite_app, screens, staff=staff) == {}
    client = ViberClient(TOKEN, viber.base_url, backoff=0.0)
    refused: list[str] = []
    sent = 0
    try:
        for level in LEVELS:
            receiver = f"reader-{level}=="
            viber.api_versions[receiver] = level
            viber.subscribed.add(receiver)
            for screen in screens:
                for body in render.messages(screen.replies, SENDER, api_version=level):
                    response = await client.send_message(receiver, body)
                    sent += 1
                    if not response.ok:
                        refused.append(
                            f"api {level}: {where(screen)}: "
                            f"{response.status} {response.status_message}"
                        )
    finally:
        await client.close()
    assert refused == []
    assert len(viber.sent) == sent >= len(screens) * len(LEVELS)


@walks
async def test_every_screen_can_be_broadcast_to_every_viber_client(
    sqlite_app: App, viber: ViberDouble, locale: str, staff: bool
) -> None:
    """As an announcement goes: one broadcast_message per kind of client, none refused."""
    screens = await walk_once(sqlite_app, locale=locale, staff=staff)
    receivers = [f"reader-{level}==" for level in LEVELS]
    async with sqlite_app.db.transaction() as session:
        people = People(session)
        for level, receiver in zip(LEVELS, receivers, strict=True):
            person, _ = await people.get_or_register("viber", receiver)
            person.api_version = level
            viber.api_versions[receiver] = level
            viber.subscribed.add(receiver)
    client = ViberClient(TOKEN, viber.base_url, backoff=0.0)
    messenger = ViberMessenger(client, StoredReachability(sqlite_app.db), sender_name=SENDER)
    failed: list[str] = []
    # each distinct message once (the menu, the help … come back on many screens)
    replies = {reply: screen for screen in screens for reply in screen.replies}
    try:
        for reply, screen in replies.items():
            results = await messenger.deliver_many(receivers, reply)
            failed += [
                f"{receiver}: {where(screen)}: {result.reason}"
                for receiver, result in results.items()
                if not result.ok
            ]
    finally:
        await client.close()
    assert failed == []
    # Everyone got every message; only the current client got silent buttons.
    assert {sent.receiver for sent in viber.sent} == set(receivers)
    silent = {
        sent.receiver
        for sent in viber.sent
        if sent.keyboard and any("Silent" in button for button in sent.keyboard["Buttons"])
    }
    assert silent == {"reader-10=="}


@walks
async def test_every_screen_reaches_telegram(sqlite_app: App, locale: str, staff: bool) -> None:
    screens = await walk_once(sqlite_app, locale=locale, staff=staff)
    double = await TelegramApiDouble().start()
    bot = Bot(
        token=double.token,
        session=AiohttpSession(api=TelegramAPIServer.from_base(double.base_url)),
    )
    messenger = TelegramMessenger(bot, Metrics())
    chat = double.user(4242, language_code=locale)
    refused: list[str] = []
    try:
        for screen in screens:
            result = await messenger.send(chat.id, screen.replies, retry=SINGLE_ATTEMPT)
            if not result.ok:
                refused.append(f"{where(screen)}: {result.reason}")
    finally:
        await bot.session.close()
        await double.stop()
    assert refused == []
    assert len(double.sent_to(chat.id)) >= len(screens)
