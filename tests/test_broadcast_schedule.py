"""A scheduled announcement survives a restart: its release time is its row, not a job."""

from __future__ import annotations

from datetime import timedelta

from bot.app import build_app
from bot.lifecycle import start_services
from tests.broadcast_support import FakePlatform, add_people, announce, announcement, wait_until
from tests.conftest import Clock, make_settings


async def test_scheduled_delivery_across_a_restart(sqlite_url: str, clock: Clock) -> None:
    first = await build_app(make_settings(sqlite_url), migrate=False, clock=clock)
    await add_people(first, 25)
    services = await start_services(first)
    at = clock() + timedelta(hours=3)
    announcement_id = await announce(first, scheduled_at=at)
    await services.stop()  # the bot is restarted before the time comes
    await first.close()

    second = await build_app(make_settings(sqlite_url), migrate=False, clock=clock)
    telegram = FakePlatform("telegram")
    second.messengers.add(telegram)
    services = await start_services(second)
    try:
        assert services.worker is not None
        await services.worker.idle()
        assert telegram.sends == 0, "not before its time"
        clock.current = at
        await wait_until(lambda: telegram.sends == 25, limit=20)
        assert (await announcement(second, announcement_id)).recipients == 25
    finally:
        await services.stop()
        await second.close()
    assert all(len(texts) == 1 for texts in telegram.received.values())
