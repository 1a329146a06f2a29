"""The announcements service beside the outbox worker: scheduled releases and live progress."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from bot.ports import Job
from bot.services.broadcast import live
from bot.services.broadcast.schedule import SWEEP_SECONDS, sweep

if TYPE_CHECKING:
    from bot.wiring import App

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0


async def announcements(app: App) -> Job | None:
    try:
        await sweep(app)
    except Exception as exc:
        log.warning("announcement sweep failed: %s", type(exc).__name__)

    async def run() -> None:
        last_sweep = time.monotonic()
        while True:
            await asyncio.sleep(TICK_SECONDS)
            try:
                await live.tick(app)
                if time.monotonic() - last_sweep >= SWEEP_SECONDS:
                    last_sweep = time.monotonic()
                    await sweep(app)
            except Exception as exc:  # the database is away for a moment
                log.warning("announcements service: %s", type(exc).__name__)

    return run
