"""The announcements service beside the outbox worker: scheduled releases and live progress."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from bot.background import Background, Job
from bot.delivery.rows import Settled
from bot.ports import Clock
from bot.services.broadcast import live
from bot.services.broadcast.progress import finish_if_done
from bot.services.broadcast.schedule import release_due
from storage.db import Database

if TYPE_CHECKING:
    from bot.delivery import Messengers
    from bot.settings import Settings

log = logging.getLogger(__name__)

#: how often scheduled announcements are looked for and progress messages kept current
TICK_SECONDS = 1.0


async def finish_announcements(
    session: AsyncSession, batch: Sequence[Settled], now: datetime
) -> None:
    """The outbox worker's settle hook: close announcements with nothing left to send.

    The author's final report it queues wakes the worker when the batch commits.
    """
    touched = {s.row.announcement_id for s in batch if s.row.announcement_id}
    if touched:
        await finish_if_done(session, touched, now)


async def tick(db: Database, messengers: Messengers, settings: Settings, clock: Clock) -> None:
    """One round: release what is due, then keep the authors' progress messages current."""
    await release_due(db, clock(), default_locale=settings.default_locale)
    await live.tick(db, messengers, settings, clock())


def announcements_loop(
    db: Database, messengers: Messengers, settings: Settings, clock: Clock
) -> Job:
    async def run() -> None:
        while True:
            try:
                await tick(db, messengers, settings, clock)
            except Exception as exc:  # the database is away for a moment
                log.warning("announcements service: %s", type(exc).__name__)
            await asyncio.sleep(TICK_SECONDS)

    return run


async def announcements(bg: Background) -> Job | None:
    return announcements_loop(bg.db, bg.messengers, bg.settings, bg.clock)
