"""The booking feature's background work: reminders recomputed at start, holds expired.

Reminders themselves need no job: they are outbox rows written with the
booking (`reminders.plan`). At start every upcoming appointment's rows are
recomputed (idempotent), and a sweep every `SWEEP_EVERY_SECONDS` lets
unanswered holds and waiting-list offers go. Every process runs the sweep in its
own in-memory scheduler; two sweeps at once are harmless (conditional UPDATEs).
"""

from __future__ import annotations

import logging
from datetime import datetime

from bot.background import Background
from bot.ports import Clock
from bot.services.booking import reminders
from bot.services.booking.appointments import sweep
from bot.services.booking.model import OfficeCatalog
from storage.db import Database

log = logging.getLogger(__name__)

SWEEP_JOB_ID = "booking:sweep"
SWEEP_EVERY_SECONDS = 60


async def sweep_holds(db: Database, catalog: OfficeCatalog, clock: Clock) -> int:
    async with db.transaction() as session:
        return await sweep(session, catalog, clock())


async def recompute_reminders(
    db: Database, catalog: OfficeCatalog, now: datetime, default_locale: str
) -> int:
    async with db.transaction() as session:
        return await reminders.reconcile(session, catalog, now, default_locale=default_locale)


async def booking_jobs(bg: Background) -> None:
    catalog = reminders.catalog_of(bg.runtime)
    queued = await recompute_reminders(bg.db, catalog, bg.clock(), bg.settings.default_locale)
    if queued:
        log.info("booking: %d reminder(s) queued at start", queued)
    if bg.scheduler is not None:
        bg.scheduler.add_job(
            sweep_holds,
            trigger="interval",
            seconds=SWEEP_EVERY_SECONDS,
            args=[bg.db, catalog, bg.clock],
            id=SWEEP_JOB_ID,
            name=SWEEP_JOB_ID,
            replace_existing=True,
        )
    return None
