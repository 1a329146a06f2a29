"""The composition root: settings → database → runtime → engine. Wired once, by keyword."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.datafiles import DataProblems, load_all
from bot.delivery import Messengers
from bot.engine import Engine, Runtime
from bot.engine.runtime import system_clock
from bot.metrics import Metrics
from bot.secret_key import ensure_secret_key
from bot.settings import Settings
from dialogs.registry import build_registry
from storage.db import Database
from storage.migrate import upgrade_async

log = logging.getLogger(__name__)


@dataclass
class App:
    settings: Settings
    db: Database
    runtime: Runtime
    engine: Engine
    metrics: Metrics
    #: platforms this process can send through (filled by the adapters at start)
    messengers: Messengers = field(default_factory=Messengers)
    #: the running APScheduler (set by `bot.lifecycle.start_services`)
    scheduler: Any = None
    closers: list[Callable[[], object]] = field(default_factory=list)

    async def close(self) -> None:
        await self.db.dispose()


def load_resources(settings: Settings) -> dict[str, Any]:
    """Service data from DATA_DIR (programmes, offices …), validated once at start.

    Invalid data stops the start with every problem listed (`DataProblems`):
    a bot that answers from half-read rules would mislead people.
    """
    resources, errors = load_all(settings.data_dir)
    if errors:
        raise DataProblems(errors)
    return resources


async def build_app(
    settings: Settings,
    *,
    migrate: bool = True,
    clock: Callable[[], datetime] = system_clock,
) -> App:
    # Bad service data stops the start before anything is written (key file, migrations).
    resources = load_resources(settings)
    settings = ensure_secret_key(settings)
    if migrate:
        await upgrade_async(settings.database_url)
    db = Database(settings.database_url)
    metrics = Metrics()
    runtime = Runtime(
        settings=settings,
        dialogs=build_registry(),
        clock=clock,
        resources=resources,
    )
    engine = Engine(db, runtime, metrics)
    return App(settings=settings, db=db, runtime=runtime, engine=engine, metrics=metrics)
