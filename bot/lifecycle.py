"""Background services that run beside the adapters: the scheduler, the outbox worker …

`python -m bot run` and `python -m bot chat` both call `start_services` after
building the app, so the terminal demo behaves like production. A feature lists
its service factories in its manifest entry (`bot.app.FEATURES`):

    async def outbox_worker(app: App) -> Job | None:
        return OutboxWorker(app).run   # a coroutine function to run until cancelled
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.scheduler import build_scheduler, set_current_app, watch_lag

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from bot.wiring import App

log = logging.getLogger(__name__)


@dataclass
class Running:
    scheduler: AsyncIOScheduler | None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.scheduler is not None and self.scheduler.running:
            with contextlib.suppress(Exception):
                self.scheduler.shutdown(wait=False)
        set_current_app(None)


async def start_services(app: App, *, scheduler: bool = True) -> Running:
    set_current_app(app)
    running = Running(scheduler=None)
    if scheduler:
        running.scheduler = build_scheduler(app.settings.database_url)
        running.scheduler.start()
        watch_lag(running.scheduler, app.metrics)
        app.scheduler = running.scheduler
    for service in app.services:
        job = await service(app)
        if job is not None:
            running.tasks.append(asyncio.create_task(job(), name=service.__name__))
    return running
