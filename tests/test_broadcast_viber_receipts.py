"""An announcement over Viber: broadcast batches, then delivered/seen receipts counted for it."""

from __future__ import annotations

from collections.abc import Awaitable

from bot.i18n import translator
from bot.services.broadcast.live import progress_text
from bot.services.broadcast.progress import counts
from tests.broadcast_support import (
    RunningWorker,
    add_people,
    announce,
    announcement,
    remaining,
    wait_until,
)
from tests.conftest import Clock
from tests.viber_support import viber_world


async def _done(left: Awaitable[int]) -> bool:
    return not await left


async def test_viber_announcement_receipts_are_counted(sqlite_url: str, clock: Clock) -> None:
    async with viber_world(sqlite_url, clock) as world:
        app = world.app
        await add_people(app, 5, platform="viber", first=1)
        world.viber.subscribed.update({"1", "2", "3", "4"})  # "5" left the chat meanwhile
        announcement_id = await announce(app, audience="platform:viber")
        async with RunningWorker(app):
            await wait_until(lambda: _done(remaining(app, announcement_id)))
        [token] = {sent.message_token for sent in world.viber.sent}  # one broadcast call

        for user_id in ("1", "2", "3", "4"):
            await world.viber.callback(
                {"event": "delivered", "timestamp": 1, "message_token": token, "user_id": user_id}
            )
        await world.viber.callback(
            {"event": "seen", "timestamp": 2, "message_token": token, "user_id": "2"}
        )
        async with app.db.transaction() as session:
            c = await counts(session, announcement_id)
        shown = await announcement(app, announcement_id)
        assert (c.sent, c.blocked, c.viber_delivered, c.viber_seen) == (4, 1, 4, 1)
        assert "Viber: delivered 4, seen 1" in progress_text(translator("en"), shown, c, 0)
