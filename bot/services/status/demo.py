"""Demo applications for `make demo`, one per status (docs/status.md lists them)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.resources import Resources
from bot.services.status.importer import import_into, open_lines
from bot.settings import DEMO_DATA_DIR, Settings

DEMO_CSV = DEMO_DATA_DIR / "demo" / "applications.csv"


async def seed_applications(
    session: AsyncSession, *, now: datetime, resources: Resources, settings: Settings
) -> str:
    report = await import_into(
        session, lambda: open_lines(DEMO_CSV), now=now, default_locale=settings.default_locale
    )
    return f"applications: {report.summary()}"
