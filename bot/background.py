"""What background services get, and how a feature registers one.

A service is a coroutine function taking a `Background` — the app's parts a
service may use (database, messengers, settings, metrics, the runtime's clock
and resources, the process's sweep scheduler), never the app itself — and
returning the coroutine function to run until cancelled, or None:

    @background_service
    async def staff_posts(bg: Background) -> Job | None:
        return StaffPosts(bg.db, bg.messengers, bg.settings, bg.clock).run

This module imports nothing above it (only ports, and types for the checker),
so a feature's service module may import it without reaching the app.
`bot/lifecycle.py` builds the `Background` and starts the services.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.ports import Clock, Job

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from bot.delivery.messenger import Messengers
    from bot.delivery.worker import SettleHook
    from bot.engine.runtime import Runtime
    from bot.metrics import Metrics
    from bot.settings import Settings
    from storage.db import Database

__all__ = ["Background", "Job", "Service", "background_service", "settle_hook"]


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

_SERVICES: list[Service] = []
_SETTLE_HOOKS: list[SettleHook] = []


def background_service(service: Service) -> Service:
    if service not in _SERVICES:
        _SERVICES.append(service)
    return service


def settle_hook(hook: SettleHook) -> SettleHook:
    """A feature's step in the worker's outcome transaction (announcements finish)."""
    if hook not in _SETTLE_HOOKS:
        _SETTLE_HOOKS.append(hook)
    return hook


def registered_services() -> list[Service]:
    return list(_SERVICES)


def registered_settle_hooks() -> list[SettleHook]:
    return list(_SETTLE_HOOKS)
