"""`kill -9` under load loses no update and handles none twice; order holds across workers.

Real `python -m bot run` processes against the Bot API double in this process
(as tests/test_scaleout.py runs them). Polling: every update is queued before the
bot starts, the bot is killed with SIGKILL while it works through them, and a
fresh process finishes the job. The same with the webhook, Telegram retrying every
update until a 2xx. Webhook order: two workers on one PostgreSQL, each
update sent to the other worker as soon as the previous one was answered.
"""

from __future__ import annotations

import asyncio
import re
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select

from storage.db import Database
from storage.models import DialogStateRow, ProcessedEvent
from tests import process_support
from tests.conftest import _truncate_postgres
from tests.doubles.telegram_api import TelegramApiDouble, TgUser
from tests.process_support import BotProcess
from tests.process_support import ready as _ready
from tests.process_support import stop as _stop

WAIT = 60.0
PEOPLE = 15
WALKERS = 10
WORDS = 3  # typed at the main menu: each is answered "choose one of the buttons"
SCRIPT = ["/start", "🇬🇧 English", "✅ I agree", *(f"hello {i}" for i in range(WORDS))]
INVALID = "choose one of the buttons"


async def start_bot(
    url: str, double: TelegramApiDouble, folder: Path, name: str, *, mode: str
) -> BotProcess:
    return await process_support.start_bot(
        url, double, folder, name, mode=mode, TELEGRAM_RESEND_AFTER="1"
    )


@pytest.fixture(params=["sqlite", "postgres"])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}"  # the bot migrates it
    url: str = request.getfixturevalue("postgres_migrated")
    await _truncate_postgres(url)
    return url


@pytest.fixture
async def double() -> AsyncIterator[TelegramApiDouble]:
    api = await TelegramApiDouble().start()
    yield api
    await api.stop()


def invalid_answers(person: TgUser) -> int:
    return sum(INVALID in m.text for m in person.received)


async def handled_once_each(url: str, people: list[TgUser]) -> None:
    """Every update claimed once, every person's state written once per update, all sent."""
    db = Database(url)
    try:
        async with db.transaction() as session:
            claimed = await session.scalar(select(func.count()).select_from(ProcessedEvent))
            unsent = await session.scalar(
                select(func.count()).where(ProcessedEvent.replies.is_not(None))
            )
            versions = list(await session.scalars(select(DialogStateRow.version)))
    finally:
        await db.dispose()
    assert claimed == len(people) * len(SCRIPT)
    assert unsent == 0
    # One state write per update: an update handled twice would count twice.
    assert versions == [len(SCRIPT)] * len(people)


async def answered_once_each(url: str, people: list[TgUser]) -> None:
    """After a crash and a restart: every person walked the script to the end, with
    no apology, and every update was handled once."""
    for person in people:
        texts = [m.text for m in person.received]
        assert any("Main menu" in t for t in texts), texts
        # Each typed word answered; a reply resent after the crash may repeat once.
        assert WORDS <= invalid_answers(person) <= WORDS + 1, texts
        assert not any(re.search(r"sorry|something went wrong", t, re.I) for t in texts)
    await handled_once_each(url, people)


async def test_kill_9_while_polling_loses_nothing_and_repeats_no_handling(
    database: str, double: TelegramApiDouble, tmp_path: Path
) -> None:
    people = [double.user(610_000 + i, language_code="en") for i in range(PEOPLE)]
    for step in SCRIPT:
        for person in people:
            await person.says(step)  # queued: the bot is not running yet
    expected = len(people) * len(SCRIPT)

    first = await start_bot(database, double, tmp_path, "first", mode="polling")
    try:
        # Killed while it works through the queue: some updates committed and answered,
        # some committed with their answer not yet sent, some fetched but not committed.
        await double.wait_until(lambda: len(double.sent) >= expected // 3, WAIT)
        first.process.send_signal(signal.SIGKILL)
        await first.process.wait()
    finally:
        await _stop(first)
    assert not all(invalid_answers(p) >= WORDS for p in people), "finished before the kill"

    second = await start_bot(database, double, tmp_path, "second", mode="polling")
    try:
        await _ready(second)
        await double.wait_until(lambda: all(invalid_answers(p) >= WORDS for p in people), WAIT)
        await asyncio.sleep(0.5)  # anything more would have arrived by now
    finally:
        await _stop(second)
    await answered_once_each(database, people)


async def test_kill_9_while_serving_the_webhook_loses_nothing_and_repeats_no_handling(
    database: str, double: TelegramApiDouble, tmp_path: Path
) -> None:
    """Like Telegram, the double POSTs each person's next update once the previous one
    got a 2xx, and retries an update until it gets one (through the crash and restart)."""
    people = [double.user(630_000 + i, language_code="en") for i in range(PEOPLE)]
    expected = len(people) * len(SCRIPT)
    current = [await start_bot(database, double, tmp_path, "first", mode="webhook")]
    await _ready(current[0])
    await double.wait_until(lambda: bool(double.calls_of("setWebhook")), WAIT)

    async def deliver(client: aiohttp.ClientSession, update_id: int) -> None:
        while True:
            headers = {"X-Telegram-Bot-Api-Secret-Token": double.webhook_secret or ""}
            try:
                async with client.post(
                    current[0].webhook, json=double._by_id[update_id], headers=headers
                ) as resp:
                    if 200 <= resp.status < 300:
                        return
            except aiohttp.ClientError:
                pass  # the bot is down: Telegram tries again later
            await asyncio.sleep(0.05)

    async def walk(client: aiohttp.ClientSession, person: TgUser) -> None:
        for step in SCRIPT:
            update = await person.double.push(person._message(text=step), deliver=False)
            await deliver(client, update)

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as client:
        walkers = asyncio.gather(*(walk(client, person) for person in people))
        try:
            await double.wait_until(lambda: len(double.sent) >= expected // 3, WAIT)
            current[0].process.send_signal(signal.SIGKILL)
            await current[0].process.wait()
            await _stop(current[0])
            assert not all(invalid_answers(p) >= WORDS for p in people), "finished first"
            current[0] = await start_bot(database, double, tmp_path, "second", mode="webhook")
            await asyncio.wait_for(walkers, WAIT)
            await double.wait_until(lambda: all(invalid_answers(p) >= WORDS for p in people), WAIT)
            await asyncio.sleep(0.5)  # anything more would have arrived by now
        finally:
            walkers.cancel()
            await _stop(current[0])
    await answered_once_each(database, people)


@pytest.fixture
async def postgres(postgres_migrated: str) -> str:
    await _truncate_postgres(postgres_migrated)
    return postgres_migrated


async def test_one_persons_updates_keep_their_order_across_two_webhook_workers(
    postgres: str, double: TelegramApiDouble, tmp_path: Path
) -> None:
    bots = [await start_bot(postgres, double, tmp_path, name, mode="webhook") for name in "ab"]
    try:
        await asyncio.gather(*(_ready(bot) for bot in bots))
        await double.wait_until(lambda: len(double.calls_of("setWebhook")) >= 2, WAIT)
        people = [double.user(620_000 + i, language_code="en") for i in range(WALKERS)]

        async def walk(number: int, person: TgUser) -> None:
            # Like Telegram: the next update goes out when the previous one was answered,
            # here always to the other worker. Each step depends on the one before.
            for index, step in enumerate(SCRIPT):
                update = await person.double.push(person._message(text=step), deliver=False)
                url = bots[(number + index) % 2].webhook
                status = await double.post_webhook(update, url=url)
                assert status == 200

        await asyncio.gather(*(walk(n, p) for n, p in enumerate(people)))
        await double.wait_until(lambda: all(invalid_answers(p) >= WORDS for p in people), WAIT)
        await asyncio.sleep(0.3)
    finally:
        await asyncio.gather(*(_stop(bot) for bot in bots))
    for person in people:
        texts = [m.text for m in person.received]
        assert invalid_answers(person) == WORDS, texts
        assert sum("Having trouble" in t for t in texts) == WORDS // 3, texts
    await handled_once_each(postgres, people)
