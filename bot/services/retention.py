"""Keep data only as long as the privacy notice says: 12 months after the last message.

A daily job (in every process's own scheduler) erases everyone silent that long, through the same
cascade as "Delete my data", and forgets what outlives its use in the other
tables: delivery ids no platform will redeliver, Viber receipts no report
needs, finished outbox rows, applications nobody has confirmed for a year.
`RULES` names the rule of every table; a test keeps it complete. The job is
idempotent: several processes may run it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import and_, delete, or_
from sqlalchemy.ext.asyncio import AsyncSession

from bot.background import Background
from bot.ports import Clock
from bot.services.cases.service import purge_closed_cases
from bot.services.months import months_before
from bot.services.personal_data import PersonalData, erase_person
from bot.services.privacy import RETENTION_MONTHS
from storage.models import OutboxMessage
from storage.models.status import Application, LookupFailure
from storage.models.viber import ViberReceipt
from storage.repositories import People, ProcessedEvents

if TYPE_CHECKING:
    from storage.db import Database

log = logging.getLogger(__name__)

JOB_ID = "privacy-retention"
BATCH = 500  # people erased per transaction
# Telegram keeps undelivered updates for 24 hours and Viber retries for hours:
# a week is far beyond any redelivery.
DELIVERY_IDS_KEPT = timedelta(days=7)
# Keyed-hash records of failed status checks outlive erasure for the lockout only.
LOOKUP_FAILURES_KEPT = timedelta(days=1)
#: announcement reports read receipts in the days after sending; a quarter is plenty
RECEIPTS_KEPT = timedelta(days=90)
WITH_PERSON = "with the person (ON DELETE CASCADE from people)"
#: every table and what removes its rows (tests/test_erasure.py checks it is complete)
RULES: dict[str, str] = {
    "people": f"{RETENTION_MONTHS} months after the last message, or on 'Delete my data'",
    "dialog_states": WITH_PERSON,
    "appointments": WITH_PERSON,
    "waitlist": WITH_PERSON,
    "application_follows": WITH_PERSON,
    "status_lookup_failures": "after LOOKUP_FAILURES_KEPT (a day); keyed hashes, no person link",
    "outbox": WITH_PERSON + f"; a finished row after {RETENTION_MONTHS} months",
    "slot_seats": "with its appointment (ON DELETE CASCADE); a free seat names nobody",
    "processed_events": f"after {DELIVERY_IDS_KEPT.days} days",
    "viber_receipts": f"after {RECEIPTS_KEPT.days} days; keyed by SECRET_KEY, never by a Viber id",
    "applications": f"when neither updated nor confirmed for {RETENTION_MONTHS} months",
    "application_status_changes": "with its application (ON DELETE CASCADE)",
    "announcements": "kept: staff's texts and counts; the author link goes with the author",
    "audit_log": "kept: staff actions; an erasure is logged by internal number only",
    "cases": WITH_PERSON + "; a closed case after CASE_RETENTION_MONTHS (default 12)",
    "case_messages": "with its case (ON DELETE CASCADE)",
    "no_shows": "with its appointment (ON DELETE CASCADE)",
    "usage_events": "kept: counts for statistics, a time and a dialog name, no person",
    "console_links": "a day after it expired (at the next link issued); names staff only",
    "console_sessions": "a day after it ended or went idle (at the next sign-in); staff only",
}


async def apply_retention(
    session: AsyncSession, now: datetime, batch: int = BATCH, *, known: PersonalData
) -> int:
    """Erase up to `batch` people silent for RETENTION_MONTHS; return how many."""
    people = People(session)
    silent = await people.silent_since(months_before(now, RETENTION_MONTHS), limit=batch)
    for person_id in silent:
        person = await people.get(person_id)
        if person is not None:
            await erase_person(session, person, known)
    await ProcessedEvents(session).forget_before(now - DELIVERY_IDS_KEPT)
    await session.execute(
        delete(LookupFailure).where(LookupFailure.at < now - LOOKUP_FAILURES_KEPT)
    )
    await forget_old_records(session, now)
    return len(silent)


async def forget_old_records(session: AsyncSession, now: datetime) -> None:
    year_ago = months_before(now, RETENTION_MONTHS)
    await session.execute(delete(ViberReceipt).where(ViberReceipt.at < now - RECEIPTS_KEPT))
    Q = OutboxMessage
    await session.execute(
        delete(Q).where(
            Q.state.not_in(("pending", "sending")),
            or_(Q.sent_at < year_ago, and_(Q.sent_at.is_(None), Q.created_at < year_ago)),
        )
    )
    await session.execute(
        delete(Application).where(
            Application.updated_at < year_ago, Application.checked_at < year_ago
        )
    )


async def retention_job(
    db: Database, clock: Clock, case_retention_months: int, known: PersonalData
) -> None:
    total = 0
    while True:
        async with db.transaction() as session:
            erased = await apply_retention(session, clock(), known=known)
        total += erased
        if erased < BATCH:
            break
    if total:
        log.info("retention: erased %d person(s) silent for %d months", total, RETENTION_MONTHS)
    months = case_retention_months
    async with db.transaction() as session:
        cases = await purge_closed_cases(session, clock(), months)
    if cases:
        log.info("retention: deleted %d case(s) closed over %d months ago", cases, months)


async def retention_schedule(bg: Background) -> None:
    if bg.scheduler is None:
        return None
    # Every process runs it (in its own in-memory scheduler): a second run finds nothing.
    bg.scheduler.add_job(
        retention_job,
        trigger="cron",
        hour=3,
        minute=40,
        args=[bg.db, bg.clock, bg.settings.case_retention_months, bg.runtime.personal_data],
        id=JOB_ID,
        name=JOB_ID,
        replace_existing=True,
    )
    return None
