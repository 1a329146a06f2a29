"""`python -m bot demo-data`: fill the database with demo content for `make demo`.

A feature registers a seeder; each one is idempotent (running demo-data twice
changes nothing) and returns a one-line summary for the operator.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.app import App

# Modules that register seeders; a feature adds its own here.
DEMO_MODULES: list[str] = [
    "bot.services.demo_people",
    "bot.services.status.demo",
    "bot.services.booking.demo",
]

Seeder = Callable[["App"], Awaitable[str]]
_SEEDERS: list[Seeder] = []


def demo_seeder(seeder: Seeder) -> Seeder:
    _SEEDERS.append(seeder)
    return seeder


async def seed_all(app: App) -> list[str]:
    for module in DEMO_MODULES:
        importlib.import_module(module)
    return [await seeder(app) for seeder in _SEEDERS]
