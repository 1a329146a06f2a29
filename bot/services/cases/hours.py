"""When specialists work, and an honest answer to "when will I hear back?"."""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import KYIV
from bot.services.cases.data import CasesData, WorkingHours
from storage.models.cases import Case

MEASURE_DAYS = 30


def is_open(hours: WorkingHours, at: datetime) -> bool:
    local = at.astimezone(KYIV)
    return local.weekday() in hours.weekdays() and hours.opens <= local.time() < hours.closes


def next_opening(hours: WorkingHours, at: datetime) -> datetime:
    """The next moment specialists start work after `at` (aware, Kyiv time)."""
    local = at.astimezone(KYIV)
    for offset in range(8):
        day = local.date() + dt.timedelta(days=offset)
        start = datetime.combine(day, hours.opens, tzinfo=KYIV)
        if day.weekday() in hours.weekdays() and start > local:
            return start
    raise ValueError("working hours have no working day")  # the loader forbids this


@dataclass(frozen=True)
class Expectation:
    #: specialists are at work right now
    open_now: bool
    #: when they start again, if not
    opens_at: datetime | None
    #: usual time to the first answer, in working hours
    typical: timedelta
    #: measured from recent cases (True) or the figure staff put in the data file
    measured: bool


async def measured_first_answer(
    session: AsyncSession, now: datetime, at_least: int
) -> timedelta | None:
    """Median time to the first answer over the last 30 days, when enough cases had one."""
    rows = await session.execute(
        select(Case.created_at, Case.first_answer_at).where(
            Case.first_answer_at.is_not(None), Case.created_at >= now - timedelta(MEASURE_DAYS)
        )
    )
    waits = [(answered - created).total_seconds() for created, answered in rows if answered]
    if len(waits) < at_least:
        return None
    return timedelta(seconds=statistics.median(waits))


async def expectation(session: AsyncSession, data: CasesData, now: datetime) -> Expectation:
    measured = await measured_first_answer(session, now, data.measured_after)
    typical = measured or timedelta(hours=data.typical_answer_hours)
    open_now = is_open(data.working_hours, now)
    return Expectation(
        open_now=open_now,
        opens_at=None if open_now else next_opening(data.working_hours, now),
        typical=typical,
        measured=measured is not None,
    )
