"""Two bot processes on one PostgreSQL: serialised people, one delivery, one reminder.

Each test starts two real `python -m bot run` processes in webhook mode on
their own ports, both talking to one Bot API double in this process, as N
workers behind nginx would. PostgreSQL only: SQLite is one process's database.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.services.broadcast.announcements import Draft, create
from bot.services.broadcast.audience import Audience, reach
from storage.db import Database
from storage.models import DialogStateRow, OutboxMessage
from storage.models.booking import BOOKED, Appointment
from tests.conftest import _truncate_postgres
from tests.doubles.telegram_api import TelegramApiDouble
from tests.process_support import BotProcess, onboarded_people, stop, two_webhook_bots

WAIT = 30.0
RATE = 300  # per process; claims of 600 rows, so both processes get a share of 2,000


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
    return await two_webhook_bots(url, api, folder, TELEGRAM_RATE_LIMIT=str(RATE))


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
            assert before is not None and after == before + rapid  # each saw the previous state
        finally:
            await db.dispose()
        handled = [await bot.metric("poruch_updates_total", 'kind="text"') for bot in bots]
        assert handled == [rapid // 2, rapid // 2]
    finally:
        await asyncio.gather(*(stop(bot) for bot in bots))


async def test_an_announcement_is_delivered_exactly_once_between_two_processes(
    database: str, double: TelegramApiDouble, tmp_path: Path
) -> None:
    recipients, first_id = 2000, 700_000
    await onboarded_people(database, first_id, recipients)
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
        await asyncio.gather(*(stop(bot) for bot in bots))


async def test_a_reminder_goes_out_once_with_two_processes_on_one_database(
    database: str, double: TelegramApiDouble, tmp_path: Path
) -> None:
    (person_id,) = await onboarded_people(database, 880_001, 1, locale="en")
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
            await asyncio.gather(*(stop(bot) for bot in bots))
    finally:
        await db.dispose()
