"""What `python -m bot stats` and the staff menu's Statistics show, counted from the database.

Plain functions over one session returning plain, JSON-ready data, so another
front end (the staff web console) can show the same numbers. Nothing returned
names or identifies a person: only counts, ids of programmes and offices,
and durations.

A period is a half-open UTC interval [start, end); either end may be open.
What falls in it is decided per table by its own moment: people by first
contact, dialogs by the counted event, appointments, announcements and cases
by creation. "Open cases" is always the count right now.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OutboxMessage, Person, UsageEvent
from storage.models.attendance import NoShow
from storage.models.booking import BOOKED, CANCELLED, MOVED, Appointment
from storage.models.broadcast import Announcement
from storage.models.cases import CLOSED, OPEN, TAKEN, Case
from storage.models.viber import ViberReceipt

FUNNEL = ("eligibility", "status", "booking", "cases")


@dataclass(frozen=True)
class Period:
    start: datetime | None = None
    end: datetime | None = None

    def within(self, column: Any) -> ColumnElement[bool]:
        condition: ColumnElement[bool] = true()
        if self.start is not None:
            condition = condition & (column >= self.start)
        if self.end is not None:
            condition = condition & (column < self.end)
        return condition

    def as_json(self) -> dict[str, str | None]:
        return {
            "from": self.start.isoformat() if self.start else None,
            "to": self.end.isoformat() if self.end else None,
        }


async def _grouped(session: AsyncSession, column: Any, *where: Any) -> dict[str, int]:
    rows = await session.execute(select(column, func.count()).where(*where).group_by(column))
    counted: dict[str, int] = {}
    for key, n in rows:
        counted[str(key) if key is not None else "unknown"] = cast(int, n)
    return counted


async def people(session: AsyncSession, period: Period) -> dict[str, Any]:
    within = period.within(Person.created_at)
    by_platform = await _grouped(session, Person.platform, within)
    by_language = await _grouped(session, Person.locale, within)
    return {
        "total": sum(by_platform.values()),
        "by_platform": dict(sorted(by_platform.items())),
        "by_language": dict(sorted(by_language.items())),
    }


async def _usage(session: AsyncSession, period: Period, metric: str) -> dict[str, int]:
    return await _grouped(
        session, UsageEvent.key, UsageEvent.metric == metric, period.within(UsageEvent.at)
    )


async def funnel(session: AsyncSession, period: Period) -> dict[str, dict[str, int]]:
    """Started and completed, per dialog. Booking completes with a confirmed appointment,
    a case with the question sent; the others count their own result screens."""
    started = await _usage(session, period, "started")
    completed = await _usage(session, period, "completed")
    completed["booking"] = int(
        await session.scalar(
            select(func.count())
            .select_from(Appointment)
            .where(
                Appointment.state.in_((BOOKED, CANCELLED, MOVED)),
                period.within(Appointment.created_at),
            )
        )
        or 0
    )
    completed["cases"] = int(
        await session.scalar(
            select(func.count()).select_from(Case).where(period.within(Case.created_at))
        )
        or 0
    )
    return {
        dialog: {"started": started.get(dialog, 0), "completed": completed.get(dialog, 0)}
        for dialog in FUNNEL
    }


async def eligibility_results(session: AsyncSession, period: Period) -> dict[str, int]:
    """Checks that found each programme likely; "none" for checks that found nothing."""
    found = await _usage(session, period, "eligibility_result")
    return dict(sorted(found.items(), key=lambda item: (-item[1], item[0])))


async def bookings(session: AsyncSession, period: Period) -> dict[str, dict[str, Any]]:
    """Per office: appointments booked (still standing), cancelled and moved, and how many
    booked ones the office marked as no-shows (`python -m bot no-show CODE`)."""
    rows = await session.execute(
        select(Appointment.office_id, Appointment.state, func.count())
        .where(
            Appointment.state.in_((BOOKED, CANCELLED, MOVED)),
            period.within(Appointment.created_at),
        )
        .group_by(Appointment.office_id, Appointment.state)
    )
    offices: dict[str, dict[str, Any]] = {}
    for office, state, n in rows:
        entry = offices.setdefault(
            office, {"booked": 0, "cancelled": 0, "moved": 0, "no_shows": 0}
        )
        entry[state] = int(n)
    missed = await session.execute(
        select(Appointment.office_id, func.count())
        .join(NoShow, NoShow.appointment_id == Appointment.id)
        .where(period.within(Appointment.created_at))
        .group_by(Appointment.office_id)
    )
    for office, n in missed:
        entry = offices.setdefault(
            office, {"booked": 0, "cancelled": 0, "moved": 0, "no_shows": 0}
        )
        entry["no_shows"] = int(n)
    return dict(sorted(offices.items()))


async def announcements(session: AsyncSession, period: Period) -> dict[str, int]:
    """Messages of announcements created in the period, by outcome.

    ``delivered``: Telegram accepted it (the Bot API has no delivery receipts), or
    Viber sent a delivered/seen receipt for that person.
    """
    ids = (
        await session.scalars(
            select(Announcement.id).where(period.within(Announcement.created_at))
        )
    ).all()
    result = {
        "announcements": len(ids),
        "messages": 0,
        "sent": 0,
        "delivered": 0,
        "failed": 0,
        "blocked": 0,
        "skipped": 0,
        "cancelled": 0,
        "pending": 0,
    }
    if not ids:
        return result
    rows = await session.execute(
        select(Person.platform, OutboxMessage.state, func.count())
        .join(Person, Person.id == OutboxMessage.person_id)
        .where(OutboxMessage.announcement_id.in_(ids))
        .group_by(Person.platform, OutboxMessage.state)
    )
    for platform, state, n in rows:
        result["messages"] += int(n)
        key = state if state in result else "pending"  # pending and sending: still on the way
        result[key] += int(n)
        if state == "sent" and platform != "viber":
            result["delivered"] += int(n)
    tokens = select(OutboxMessage.platform_ref).where(
        OutboxMessage.announcement_id.in_(ids), OutboxMessage.platform_ref.is_not(None)
    )
    receipts = (
        select(ViberReceipt.message_token, ViberReceipt.receiver_key)
        .where(
            ViberReceipt.event.in_(("delivered", "seen")), ViberReceipt.message_token.in_(tokens)
        )
        .distinct()
        .subquery()
    )
    result["delivered"] += int(
        await session.scalar(select(func.count()).select_from(receipts)) or 0
    )
    return result


def _median_seconds(pairs: list[tuple[datetime, datetime | None]]) -> float | None:
    waits = [(end - start).total_seconds() for start, end in pairs if end is not None]
    return float(statistics.median(waits)) if waits else None


async def cases(session: AsyncSession, period: Period) -> dict[str, Any]:
    within = period.within(Case.created_at)
    open_now = int(
        await session.scalar(
            select(func.count()).select_from(Case).where(Case.state.in_((OPEN, TAKEN)))
        )
        or 0
    )
    rows = (
        await session.execute(
            select(
                Case.state, Case.created_at, Case.first_answer_at, Case.closed_at, Case.rating
            ).where(within)
        )
    ).all()
    ratings = {str(n): 0 for n in range(1, 6)}
    for row in rows:
        if row.rating is not None:
            ratings[str(row.rating)] += 1
    rated = sum(ratings.values())
    return {
        "opened": len(rows),
        "open_now": open_now,
        "answered": sum(1 for row in rows if row.first_answer_at is not None),
        "closed": sum(1 for row in rows if row.state == CLOSED),
        "median_first_answer_seconds": _median_seconds(
            [(row.created_at, row.first_answer_at) for row in rows]
        ),
        "median_close_seconds": _median_seconds([(row.created_at, row.closed_at) for row in rows]),
        "satisfaction": ratings,
        "rated": rated,
        "average_rating": round(sum(int(n) * count for n, count in ratings.items()) / rated, 2)
        if rated
        else None,
    }


async def collect(session: AsyncSession, period: Period) -> dict[str, Any]:
    """Every section, as one JSON-ready dictionary."""
    return {
        "period": period.as_json(),
        "people": await people(session, period),
        "funnel": await funnel(session, period),
        "eligibility_results": await eligibility_results(session, period),
        "bookings": await bookings(session, period),
        "announcements": await announcements(session, period),
        "cases": await cases(session, period),
    }
