"""`python -m bot demo-data`: fill the database with demo content for `make demo`.

A feature lists its seeders in its manifest entry (`bot.app.FEATURES`); each one
is idempotent (running demo-data twice changes nothing) and returns a one-line
summary for the operator.
"""

from __future__ import annotations

from bot.wiring import App


async def seed_all(app: App) -> list[str]:
    """Every feature's seeders, in manifest order, each in its own transaction."""
    lines: list[str] = []
    for feature in app.features:
        for seeder in feature.seeders:
            async with app.db.transaction() as session:
                lines.append(
                    await seeder(
                        session,
                        now=app.runtime.now(),
                        resources=app.resources,
                        settings=app.settings,
                    )
                )
    return lines
