"""Two bot processes on one PostgreSQL: serialised people, one delivery, one reminder.

Each test starts two real `python -m bot run` processes in webhook mode on
their own ports, both talking to one Bot API double in this process, as N
workers behind nginx would. PostgreSQL only: SQLite is one process's database.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, insert, select

from bot.services.broadcast.announcements import Draft, create
from bot.services.broadcast.audience import Audience, reach
from storage.db import Database
from storage.models import DialogStateRow, OutboxMessage, Person
from storage.models.booking import BOOKED, Appointment
from tests.conftest import _truncate_postgres
from tests.doubles.telegram_api import TelegramApiDouble
from tests.telegram_support import WEBHOOK_SECRET, free_port

ROOT = Path(__file__).resolve().parent.parent
START_WAIT = 60.0
WAIT = 30.0
RATE = 300  # per process; claims of 600 rows, so both processes get a share of 2,000


@dataclass
class BotProcess:
    port: int
    process: asyncio.subprocess.Process
    log: Path

    @property
    def webhook(self) -> str:
        return f"http://127.0.0.1:{self.port}/telegram/webhook"

    async def metric(self, name: str, *labels: str) -> float:
        """The sum of `name` over the series carrying every one of `labels` (k="v")."""
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{self.port}/metrics") as response,
        ):
            text = await response.text()
        return sum(
            float(line.rpartition(" ")[2])
            for line in text.splitlines()
            if line.startswith(name) and all(label in line for label in labels)
        )


async def _start(url: str, double: TelegramApiDouble, folder: Path, name: str) -> BotProcess:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "VIBER_"))}
    env.update(
        PYTHONPATH=str(ROOT),
        DATABASE_URL=url,
        TELEGRAM_TOKEN=double.token,
        TELEGRAM_API_BASE=double.base_url,
        TELEGRAM_MODE="webhook",
        TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET,
        TELEGRAM_RATE_LIMIT=str(RATE),
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        HTTP_HOST="127.0.0.1",
        HTTP_PORT=str(port),
        DEFAULT_LOCALE="uk",
        STAFF_IDS="",
        LOG_LEVEL="WARNING",
        LOG_FORMAT="json",
    )
    log = folder / f"{name}.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", env=env, cwd=ROOT, stdout=out, stderr=out
        )
    return BotProcess(port, process, log)


async def _ready(bot: BotProcess) -> None:
    """Until /healthz answers (the server is up; services start right after)."""
    async with asyncio.timeout(START_WAIT), aiohttp.ClientSession() as session:
        while True:
            assert bot.process.returncode is None, bot.log.read_text()[-3000:]
            try:
                async with session.get(f"http://127.0.0.1:{bot.port}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)


async def _stop(bot: BotProcess) -> None:
    if bot.process.returncode is None:
        bot.process.terminate()
        try:
            async with asyncio.timeout(15):
                await bot.process.wait()
        except TimeoutError:
            bot.process.kill()
            await bot.process.wait()


@pytest.fixture
async def database(postgres_migrated: str) -> str:
    await _truncate_postgres(postgres_migrated)
    return postgres_migrated


@pytest.fixture
async def double() -> AsyncIterator[TelegramApiDouble]:
    api = await TelegramApiDouble().start()
    yield api
    await api.stop()


async def two_bots(url: str, api: TelegramApiDouble, folder: Path) -> list[BotProcess]:
    bots = [await _start(url, api, folder, name) for name in ("a", "b")]
    try:
        await asyncio.gather(*(_ready(bot) for bot in bots))
        # Both registered their webhook; updates below are posted to each one directly.
        await api.wait_until(lambda: len(api.calls_of("setWebhook")) >= 2, START_WAIT)
    except BaseException:
        await asyncio.gather(*(_stop(bot) for bot in bots))
        raise
    return bots


async def _people(url: str, first_id: int, count: int, *, locale: str = "uk") -> list[int]:
    now = datetime.now(UTC)
    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            await conn.execute(
                insert(Person.__table__),  # type: ignore[arg-type]
                [
                    {
                        "platform": "telegram",
                        "platform_user_id": str(first_id + i),
                        "locale": locale,
                        "consent_at": now,
                        "privacy_version": 1,
                        "reachable": True,
                        "subscribed": True,
                        "announcements": True,
                        "created_at": now,
                        "last_seen_at": now,
                    }
                    for i in range(count)
                ],
            )
            return list(await conn.scalars(select(Person.__table__.c.id).order_by("id")))
    finally:
        await db.dispose()


async def test_one_persons_rapid_events_through_both_processes_stay_serialised(
    database: str, double: TelegramApiDouble, tmp_path: Path
) -> None:
    bots = await two_bots(database, double, tmp_path)
    try:
        person = double.user(4242, language_code="en")

        async def via(bot: BotProcess, act: object) -> None:
            double.webhook_url = bot.webhook  # the double POSTs this update to `bot`
            await act  # type: ignore[misc]

        await via(bots[0], person.says("/start"))
        await double.wait_until(lambda: bool(person.received), WAIT)
        await via(bots[1], person.presses("English"))
        await double.wait_for_text(person.id, "Your data", WAIT)
        await via(bots[0], person.presses("I agree"))
        await double.wait_for_text(person.id, "Main menu", WAIT)
        db = Database(database)
        try:
            async with db.transaction() as session:
                before = await session.scalar(select(DialogStateRow.version))
            sent_before = len(person.received)

            # 30 typed words at once, alternating between the processes. The main menu
            # expects a button, so each is a failed attempt; every third brings the help
            # offer. A lost update (two events on one state) would break that count.
            rapid = 30
            for i in range(rapid):
                await via(bots[i % 2], person.says(f"hello {i}"))

            def answered() -> bool:
                texts = [m.text for m in person.received[sent_before:]]
                return sum("choose one of the buttons" in t for t in texts) >= rapid

            await double.wait_until(answered, WAIT)
            await asyncio.sleep(0.5)  # anything more would have arrived by now
            texts = [m.text for m in person.received[sent_before:]]
            assert sum("choose one of the buttons" in t for t in texts) == rapid
            assert sum("Having trouble" in t for t in texts) == rapid // 3
            assert not any(re.search(r"sorry|something went wrong", t, re.I) for t in texts)
            async with db.transaction() as session:
                after = await session.scalar(select(DialogStateRow.version))
            assert after == before + rapid  # each event saw the previous one's state
        finally:
            await db.dispose()
        handled = [await bot.metric("poruch_updates_total", 'kind="text"') for bot in bots]
        assert handled == [rapid // 2, rapid // 2]
    finally:
        await asyncio.gather(*(_stop(bot) for bot in bots))


async def test_an_announcement_is_delivered_exactly_once_between_two_processes(
    database: str, double: TelegramApiDouble, tmp_path: Path
) -> None:
    recipients, first_id = 2000, 700_000
    await _people(database, first_id, recipients)
    for i in range(recipients):
        double.know_chat({"id": first_id + i, "type": "private", "first_name": "P"})
    bots = await two_bots(database, double, tmp_path)
    try:
        db = Database(database)
        try:
            now = datetime.now(UTC)
            audience = Audience.parse("all")
            async with db.transaction() as session:
                people = await reach(
                    session, audience, default_locale="uk", viber_price=0, now=now
                )
                await create(
                    session,
                    Draft.of("Центр працює до 18:00.", "Open until 18:00.", audience),
                    author="test",
                    author_person_id=None,
                    now=now,
                    default_locale="uk",
                    reach=people,
                )
            await double.wait_until(lambda: len(double.sent) >= recipients, WAIT)
            await asyncio.sleep(1.5)  # a duplicate from the slower process would show now
            chats = [m.chat_id for m in double.sent]
            assert len(chats) == recipients
            assert set(chats) == {first_id + i for i in range(recipients)}
            async with db.transaction() as session:
                states = dict(
                    (
                        await session.execute(
                            select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
                        )
                    ).all()
                )
            assert states == {"sent": recipients}
        finally:
            await db.dispose()
        shares = [await bot.metric("poruch_outbox_results_total", 'result="sent"') for bot in bots]
        assert sum(shares) == recipients
        assert all(share > 0 for share in shares), shares  # both workers took part
    finally:
        await asyncio.gather(*(_stop(bot) for bot in bots))


async def test_a_reminder_goes_out_once_with_two_processes_on_one_database(
    database: str, double: TelegramApiDouble, tmp_path: Path
) -> None:
    (person_id,) = await _people(database, 880_001, 1, locale="en")
    double.know_chat({"id": 880_001, "type": "private", "first_name": "P"})
    # Booked days ago; the 2-hour mark passed a minute ago while no bot ran. Both
    # processes recompute the reminders at start: one outbox row (its dedupe key),
    # due now, sent once by whichever worker claims it. No real wait for a moment.
    now = datetime.now(UTC).replace(microsecond=0)
    starts_at = now + timedelta(hours=2) - timedelta(minutes=1)
    db = Database(database)
    try:
        async with db.transaction() as session:
            session.add(
                Appointment(
                    code="SCALE001",
                    person_id=person_id,
                    office_id="kyiv-cnap-obolon",
                    service_id="idp",
                    starts_at=starts_at,
                    ends_at=starts_at + timedelta(minutes=20),
                    state=BOOKED,
                    created_at=now - timedelta(days=2),
                )
            )
        bots = await two_bots(database, double, tmp_path)
        try:
            reminder = await double.wait_for_text(880_001, "Reminder", WAIT)

            async with asyncio.timeout(WAIT):
                while True:
                    async with db.transaction() as session:
                        states = list(await session.scalars(select(OutboxMessage.state)))
                    if states == ["sent"]:
                        break
                    await asyncio.sleep(0.05)
            # The one row is recorded as sent: no worker can claim it again.
            assert [m.message_id for m in double.sent_to(880_001)] == [reminder.message_id]
            async with db.transaction() as session:
                rows = list(await session.scalars(select(OutboxMessage.kind)))
            assert rows == ["reminder"]
            lags = [await bot.metric("poruch_scheduler_lag_seconds") for bot in bots]
            assert any(lag > 0 for lag in lags)  # the scheduler-lag gauge is fed
        finally:
            await asyncio.gather(*(_stop(bot) for bot in bots))
    finally:
        await db.dispose()
