"""A scheduled announcement survives a restart (APScheduler job store in the bot's database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.app import build_app
from bot.lifecycle import start_services
from bot.services.broadcast.schedule import schedule
from tests.broadcast_support import FakePlatform, add_people, announce, announcement, wait_until
from tests.conftest import make_settings


async def test_scheduled_delivery_across_a_restart(sqlite_url: str) -> None:
    first = await build_app(make_settings(sqlite_url), migrate=False)
    await add_people(first, 25)
    services = await start_services(first)
    at = datetime.now(UTC) + timedelta(seconds=2)
    announcement_id = await announce(first, scheduled_at=at)
    await schedule(first, announcement_id, at)
    await services.stop()  # the bot is restarted before the time comes
    await first.close()

    second = await build_app(make_settings(sqlite_url), migrate=False)
    telegram = FakePlatform("telegram")
    second.messengers.add(telegram)
    services = await start_services(second)
    try:
        await wait_until(lambda: telegram.sends == 25, limit=20)
        assert (await announcement(second, announcement_id)).recipients == 25
    finally:
        await services.stop()
        await second.close()
    assert all(len(texts) == 1 for texts in telegram.received.values())
