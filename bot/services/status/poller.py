"""With REGISTRY_URL set, followed applications are re-checked in the background.

Without this, a change in the registry would reach followers only when
someone happened to look the application up. Several processes may poll at
once: `apply_record` records a change only once (conditional update), and the
outbox dedupe key sends its notice only once.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from sqlalchemy import select

from bot.background import Background, Job, background_service
from bot.services.status.changes import apply_record, lock_applications
from bot.services.status.numbers import ApplicationNumber
from bot.services.status.registry import RegistryUnavailable, registry_for
from storage.models.status import Application, Follow

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)

POLL_EVERY_SECONDS = 300.0


async def refresh_followed(app: App | Background) -> int:
    """Ask the registry about every followed application; returns how many changed status."""
    client = registry_for(app.runtime)
    if client is None:
        return 0
    async with app.db.transaction() as session:
        ids = list(await session.scalars(select(Follow.application_id).distinct()))
    changed = 0
    for application_id in sorted(ids):
        if client.breaker.is_open:
            break  # it is down: try the rest next round
        async with app.db.transaction() as session:
            application = await session.get(Application, application_id)
            if application is None:
                continue
            number = ApplicationNumber(application.number, application.printed_number)
            try:
                record = await client.fetch(number, application.birth_date)
            except RegistryUnavailable:
                continue
            if record is None:
                continue  # no longer in the registry: keep the last known status
            await lock_applications(session)
            applied = await apply_record(
                session,
                record,
                now=app.runtime.now(),
                source="registry",
                default_locale=app.settings.default_locale,
            )
            changed += applied.effect == "changed"
    return changed


@background_service
async def registry_poller(app: Background) -> Job | None:
    if not app.settings.registry_url:
        return None

    async def run() -> None:
        while True:
            try:
                await refresh_followed(app)
            except Exception as exc:  # the loop must outlive one bad round
                log.error("status registry poll failed: %s", type(exc).__name__)
            await asyncio.sleep(POLL_EVERY_SECONDS)

    return run
