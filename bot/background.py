"""What background services get.

A service is a coroutine function taking a `Background` — the app's parts a
service may use (database, messengers, settings, metrics, the runtime's clock
and resources, the process's sweep scheduler), never the app itself — and
returning the coroutine function to run until cancelled, or None:

    async def staff_posts(bg: Background) -> Job | None:
        return StaffPosts(bg.db, bg.messengers, bg.settings, bg.clock).run

This module imports nothing above it (only ports, and types for the checker),
so a feature's service module may import it without reaching the app.
A feature lists its services in its manifest entry (`bot.app.FEATURES`);
`bot/lifecycle.py` builds the `Background` and starts them.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.ports import Clock, Job

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from bot.delivery.messenger import Messengers
    from bot.engine.runtime import Runtime
    from bot.metrics import Metrics
    from bot.settings import Settings
    from storage.db import Database

__all__ = ["Background", "Job", "Service"]


@dataclass(frozen=True, slots=True)
class Background:
    db: Database
    messengers: Messengers
    settings: Settings
    metrics: Metrics
    runtime: Runtime
    #: this process's scheduler for periodic sweeps (in-memory jobs), if one runs
    scheduler: AsyncIOScheduler | None = None

    @property
    def clock(self) -> Clock:
        return self.runtime.now


Service = Callable[[Background], Coroutine[Any, Any, Job | None]]
