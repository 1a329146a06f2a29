"""Scheduled announcements: the announcement's own `scheduled_at` is the plan.

Nothing is scheduled in a process: the announcements service of every
running process calls `release_due` every second, which releases each
announcement whose time has come with a conditional UPDATE (scheduled →
sending) and queues its recipients in the same transaction, so when two
processes sweep at once only one releases. The commit wakes the outbox worker.
An announcement scheduled from the CLI or the console is only a row, picked up
by whichever bot process runs.
"""

from __future__ import annotations

import logging
import re
from datetime import date, datetime, timedelta

from bot.delivery.quiet import KYIV
from bot.services.broadcast.announcements import due_scheduled, release
from storage.db import Database

log = logging.getLogger(__name__)


async def release_due(db: Database, now: datetime, *, default_locale: str) -> int:
    """Release every scheduled announcement whose time has come; returns how many."""
    async with db.transaction() as session:
        scheduled = await due_scheduled(session)
    released = 0
    for announcement_id, at in scheduled:
        if at > now:
            continue
        async with db.transaction() as session:
            if await release(session, announcement_id, now=now, default_locale=default_locale):
                released += 1
                log.info("announcement %s released", announcement_id)
    return released


_DATE_TIME = re.compile(
    r"^\s*(?:(\d{1,2})\.(\d{1,2})(?:\.(\d{4}))?|(\d{4})-(\d{1,2})-(\d{1,2}))"
    r"(?:\s+|T)(\d{1,2})[:.](\d{2})\s*$"
)


#: an announcement further ahead is almost surely a typo in the year
MAX_AHEAD = timedelta(days=366)


def too_far_ahead(at: datetime, now: datetime) -> bool:
    return at > now + MAX_AHEAD


def parse_kyiv_time(text: str, now: datetime) -> datetime | None:
    """ "25.12.2026 14:30", "25.12 14:30" or "2026-12-25 14:30", Kyiv time; None if unclear.

    Without a year, the next such date from today.
    """
    match = _DATE_TIME.match(text)
    if not match:
        return None
    d, m, y, iy, im, iday, hh, mm = match.groups()
    today = now.astimezone(KYIV).date()
    try:
        if iy:
            day = date(int(iy), int(im), int(iday))
        else:
            day = date(int(y) if y else today.year, int(m), int(d))
            if not y and day < today:
                day = day.replace(year=today.year + 1)
        moment = datetime(day.year, day.month, day.day, int(hh), int(mm), tzinfo=KYIV)
    except ValueError:
        return None
    return moment
