"""The shapes the composition root (`bot/app.py`) fills: the running bot and its features.

A feature is declared once, as a `Feature` in `bot.app.FEATURES`: its dialogs,
data loaders, background services, operator commands, demo seeders, console
pages, what it keeps about a person and its translation domain. Nothing
registers itself by being imported; what is not in the manifest does not run.

This module names no feature, so the features' outer parts (commands,
background-service factories) may use its types without an import cycle.
Services and dialogs do not: they take a session, the time and the ports they
need (`bot/ports.py`), never the `App`.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from bot.background import Service
from bot.console.pages import Page
from bot.datafiles import Loader
from bot.delivery.messenger import Messengers
from bot.delivery.rows import SettleHook
from bot.engine import Dialog, Engine, Runtime
from bot.metrics import Metrics
from bot.ports import Adapter
from bot.resources import Resources
from bot.services.personal_data import PersonalData
from bot.settings import Settings
from storage.db import Database


@dataclass
class App:
    """One running bot: what `bot.app.build_app` wired, in the order it wired it."""

    settings: Settings
    db: Database
    runtime: Runtime
    engine: Engine
    metrics: Metrics
    #: the manifest this bot was built from (its background services start from here)
    features: tuple[Feature, ...] = ()
    #: the adapters its settings configure (Telegram with a token, Viber with one)
    adapters: tuple[Adapter[App], ...] = ()
    #: platforms this process can send through (filled by the adapters at start)
    messengers: Messengers = field(default_factory=Messengers)
    closers: list[Callable[[], object]] = field(default_factory=list)

    @property
    def resources(self) -> Resources:
        """The service data and clients the dialogs see (`Runtime.resources`), typed."""
        return Resources.of(self.runtime.resources)

    @property
    def services(self) -> list[Service]:
        """Every feature's background services, in manifest order."""
        return [service for feature in self.features for service in feature.services]

    @property
    def settle_hooks(self) -> list[SettleHook]:
        """Every feature's steps in the outbox worker's outcome transaction."""
        return [hook for feature in self.features for hook in feature.settle_hooks]

    async def close(self) -> None:
        await self.db.dispose()


class Seeder(Protocol):
    """Demo content for `make demo`, idempotent; returns one line for the operator.

    Runs in its own transaction (the session), at `now`.
    """

    async def __call__(
        self, session: AsyncSession, *, now: datetime, resources: Resources, settings: Settings
    ) -> str: ...


@dataclass(frozen=True)
class Launch:
    """What an operator command gets from the composition root: the settings, and the
    one way to build the bot (commands that need no database never build it)."""

    settings: Settings
    features: tuple[Feature, ...]
    build: Callable[..., Awaitable[App]]

    @property
    def loaders(self) -> dict[str, Loader]:
        return {name: load for f in self.features for name, load in f.loaders.items()}

    @property
    def seeders(self) -> list[Seeder]:
        return [seeder for feature in self.features for seeder in feature.seeders]

    async def app(self, **options: Any) -> App:
        return await self.build(self.settings, **options)


Handler = Callable[[Launch, argparse.Namespace], Coroutine[Any, Any, int]]


def no_arguments(parser: argparse.ArgumentParser) -> None:
    return None


@dataclass(frozen=True)
class Command:
    """`python -m bot <name>`: one operator command (names in shared/CONTRACT.md)."""

    name: str
    help: str
    handler: Handler
    arguments: Callable[[argparse.ArgumentParser], None] = no_arguments


def command(
    name: str, help: str, arguments: Callable[[argparse.ArgumentParser], None] = no_arguments
) -> Callable[[Handler], Command]:
    """Declare a handler as a command; it runs only if a feature lists it."""

    def declare(handler: Handler) -> Command:
        return Command(name, help, handler, arguments)

    return declare


@dataclass(frozen=True)
class Feature:
    """One feature, declared once in `bot.app.FEATURES`."""

    name: str
    #: its gettext catalog (a [domains] entry in locales/domains.toml)
    domain: str
    dialogs: Sequence[Dialog] = ()
    #: parts of DATA_DIR it reads, by the `Resources` field each one fills
    loaders: Mapping[str, Loader] = field(default_factory=dict)
    #: background services, given the app's parts (`bot.background.Background`)
    services: Sequence[Service] = ()
    #: its steps in the outbox worker's outcome transaction (announcements finish)
    settle_hooks: Sequence[SettleHook] = ()
    commands: Sequence[Command] = ()
    seeders: Sequence[Seeder] = ()
    #: what it keeps about a person ("My data" sections, erasure helpers, region names),
    #: given the loaded resources (booking names oblasts from its catalogue)
    personal_data: Callable[[Resources], PersonalData] = lambda resources: PersonalData()
    #: its pages in the staff web console
    console_pages: Sequence[Page] = ()


__all__ = [
    "App",
    "Command",
    "Feature",
    "Handler",
    "Launch",
    "Seeder",
    "Service",
    "command",
]
