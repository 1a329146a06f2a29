"""Demo applications for `make demo`, one per status (docs/status.md lists them)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.demo import demo_seeder
from bot.services.status.importer import import_file
from bot.settings import DEMO_DATA_DIR

if TYPE_CHECKING:
    from bot.app import App

DEMO_CSV = DEMO_DATA_DIR / "demo" / "applications.csv"


@demo_seeder
async def seed_applications(app: App) -> str:
    report = await import_file(app, DEMO_CSV)
    return f"applications: {report.summary()}"
