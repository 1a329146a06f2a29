"""Background services that run beside the adapters: the outbox worker, sweeps, pollers …

`python -m bot run` and `python -m bot chat` both call `start_services` after
building the app, so the terminal demo behaves like production. The outbox
worker is built explicitly (`build_worker`: its database, messengers, settings,
metrics, clock and the features' settle hooks as arguments). Every other
service is a factory a feature lists in its manifest entry (`bot.app.FEATURES`):

    async def booking_sweeps(bg: Background) -> Job | None:   # bot/background.py
        return run   # a coroutine function to run until cancelled, or None

Timed work is data in the database (outbox rows with a future `not_before`,
an announcement's `scheduled_at`), so nothing here is persistent: APScheduler,
with its default in-memory job store, only runs periodic sweeps that any
number of processes may run at the same time (retention, expiring holds).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.background import Background, Service
from bot.delivery.rows import SettleHook
from bot.delivery.worker import OutboxWorker
from bot.ports import Job
from bot.scheduler import build_scheduler, watch_lag

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from bot.wiring import App

log = logging.getLogger(__name__)

__all__ = [
    "Background",
    "Job",
    "Running",
    "Service",
    "background_of",
    "build_worker",
    "start_services",
]


def background_of(app: App, scheduler: AsyncIOScheduler | None = None) -> Background:
    """The parts of `app` a background service may use."""
    return Background(
        db=app.db,
        messengers=app.messengers,
        settings=app.settings,
        metrics=app.metrics,
        runtime=app.runtime,
        scheduler=scheduler,
    )


def build_worker(app: App, *, hooks: Sequence[SettleHook] | None = None) -> OutboxWorker:
    """The outbox worker of this process, from the app's parts (no lookup at run time)."""
    return OutboxWorker(
        app.db,
        app.messengers,
        app.settings,
        app.metrics,
        clock=app.runtime.now,
        settle_hooks=app.settle_hooks if hooks is None else hooks,
        lease=timedelta(seconds=app.settings.outbox_lease_seconds),
    )


@dataclass
class Running:
    scheduler: AsyncIOScheduler | None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    worker: OutboxWorker | None = None

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.scheduler is not None and self.scheduler.running:
            with contextlib.suppress(Exception):
                self.scheduler.shutdown(wait=False)


async def start_services(
    app: App, *, scheduler: bool = True, worker: OutboxWorker | None = None
) -> Running:
    """Start the outbox worker (`worker`, or one from `build_worker`) and every feature's
    services, in manifest order."""
    running = Running(scheduler=None)
    if scheduler:
        running.scheduler = build_scheduler()
        running.scheduler.start()
        watch_lag(running.scheduler, app.metrics)
    running.worker = worker or build_worker(app)
    running.tasks.append(asyncio.create_task(running.worker.run(), name="outbox_worker"))
    background = background_of(app, running.scheduler)
    for service in app.services:
        job = await service(background)
        if job is not None:
            running.tasks.append(asyncio.create_task(job(), name=service.__name__))
    return running
