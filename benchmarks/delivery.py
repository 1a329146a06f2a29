"""(3) Announcement delivery through the outbox worker, against the Bot API double.

10,000 people on Telegram; `python -m bot run` (polling, its outbox worker and
the Telegram messenger) runs with TELEGRAM_RATE_LIMIT raised to 500. This
process releases one announcement to everyone exactly as the staff dialog and
the `broadcast` command do (`announcements.create`), and the double notes the
moment each sendMessage arrives.

- achieved rate = (sends − 1) / (last arrival − first arrival), over the limit;
  goal ≥ 0.95;
- the largest number of arrivals in any one-second window (sliding, over the
  double's own clock, i.e. as the platform counts); goal: never above the limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert

from benchmarks.common import Result, fresh_database, onboarded_person, postgres_url
from benchmarks.double import BenchDouble
from benchmarks.processes import bot_env, cpu_seconds, free_port, start, stop
from bot.services.broadcast.announcements import Draft, create
from bot.services.broadcast.audience import Audience, reach
from storage.db import Database
from storage.models import Person

RECIPIENTS = 10_000
LIMIT = 500
GOAL = 0.95
FIRST_ID = 500_000
CHUNK = 5_000
DEADLINE = 180.0  # seconds; at the limit the whole send takes about 20


async def fill_people(url: str, count: int, first_id: int) -> None:
    """Telegram people who accepted the privacy notice (announcements on), by bulk INSERT."""
    now = datetime.now(UTC)
    base = onboarded_person(now)
    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            for start_at in range(0, count, CHUNK):
                rows = [
                    {**base, "platform_user_id": str(first_id + i)}
                    for i in range(start_at, min(count, start_at + CHUNK))
                ]
                await conn.execute(insert(Person.__table__), rows)  # type: ignore[arg-type]
    finally:
        await db.dispose()


async def announce(url: str) -> int:
    db = Database(url)
    try:
        now = datetime.now(UTC)
        audience = Audience.parse("all")
        async with db.transaction() as session:
            people = await reach(session, audience, default_locale="uk", viber_price=0, now=now)
            announcement = await create(
                session,
                Draft.of("Центр працює до 18:00.", "Open until 18:00.", audience),
                author="benchmark",
                author_person_id=None,
                now=now,
                default_locale="uk",
                reach=people,
            )
            return announcement.id
    finally:
        await db.dispose()


def busiest_second(times: list[float]) -> int:
    """The most arrivals within any window shorter than one second."""
    best, first = 0, 0
    for last, at in enumerate(times):
        while at - times[first] >= 1.0:
            first += 1
        best = max(best, last - first + 1)
    return best


async def run() -> list[Result]:
    double = await BenchDouble(poll_cap=25.0).start()
    try:
        with tempfile.TemporaryDirectory(prefix="poruch-bench-") as tmp:
            folder = Path(tmp)
            url = postgres_url() or f"sqlite+aiosqlite:///{folder}/bench.sqlite3"
            label = "PostgreSQL" if postgres_url() else "SQLite"
            await fresh_database(url)
            await fill_people(url, RECIPIENTS, FIRST_ID)
            for i in range(RECIPIENTS):
                double.know_chat({"id": FIRST_ID + i, "type": "private", "first_name": "P"})
            env = bot_env(
                url,
                TELEGRAM_TOKEN=double.token,
                TELEGRAM_API_BASE=double.base_url,
                TELEGRAM_MODE="polling",
                TELEGRAM_RATE_LIMIT=str(LIMIT),
                HTTP_PORT=str(free_port()),
            )
            log = folder / "delivery.log"
            process = await start(["-m", "bot", "run"], env, log)
            try:
                await double.wait_until(lambda: bool(double.calls_of("getUpdates")), 60)
                double.forget_history()
                cpu = cpu_seconds(process.pid)
                released = time.monotonic()
                await announce(url)
                with contextlib.suppress(TimeoutError):
                    await double.wait_until(lambda: len(double.sent) >= RECIPIENTS, DEADLINE)
                await asyncio.sleep(1.0)  # anything beyond the 10,000 would show up now
                cpu = cpu_seconds(process.pid) - cpu
            finally:
                await stop(process)
    finally:
        await double.stop()
    times = sorted(double.send_times)
    sent = len(times)
    chats = {message.chat_id for message in double.sent}
    span = times[-1] - times[0] if sent > 1 else 0.0
    rate = (sent - 1) / span if span else 0.0
    peak = busiest_second(times)
    details = {
        "recipients": RECIPIENTS,
        "limit": LIMIT,
        "database": label,
        "sent": sent,
        "distinct_chats": len(chats),
        "seconds_first_to_last": round(span, 2),
        "seconds_release_to_first": round(times[0] - released, 2) if times else None,
        "rate_per_second": round(rate, 1),
        "bot_cpu_seconds": round(cpu, 1),
    }
    complete = sent == RECIPIENTS == len(chats)
    return [
        Result(
            "announcement rate / limit (10,000 recipients)",
            rate / LIMIT,
            "ratio",
            f">= {GOAL}",
            complete and rate / LIMIT >= GOAL,
            details,
        ),
        Result(
            "announcement busiest 1-second window",
            float(peak),
            "msgs",
            f"<= {LIMIT}",
            peak <= LIMIT,
            {"limit": LIMIT},
        ),
    ]
