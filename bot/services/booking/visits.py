"""After the appointment: staff mark who came and who did not; the day's sheet; waiting lists.

A visit can be marked only for a booked appointment whose day has come (in
Kyiv time): marking tomorrow's visitor as "did not come" is always a mistake.
Marking is final and audited; the place stays taken (the time has passed).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.booking.slots import local_day, local_instant
from storage.models.booking import BOOKED, OFFERED, WAITING, Appointment, WaitlistEntry
from storage.repositories import AuditLog


class Visit(StrEnum):
    ATTENDED = "attended"
    NO_SHOW = "no_show"


#: appointments on a day's sheet: still booked, or already marked
ON_SHEET = (BOOKED, Visit.ATTENDED.value, Visit.NO_SHOW.value)


class VisitError(ValueError):
    """Why a visit cannot be marked (the appointment is not booked, or its day has not come)."""


async def day_sheet(session: AsyncSession, office_id: str, day: date) -> Sequence[Appointment]:
    """One office's appointments on one local day, in time order, marked ones included."""
    start = local_instant(day, datetime.min.time())
    end = local_instant(day + timedelta(days=1), datetime.min.time())
    assert start is not None and end is not None  # midnight always exists in Europe/Kyiv
    return (
        await session.scalars(
            select(Appointment)
            .where(
                Appointment.office_id == office_id,
                Appointment.state.in_(ON_SHEET),
                Appointment.starts_at >= start,
                Appointment.starts_at < end,
            )
            .order_by(Appointment.starts_at, Appointment.id)
        )
    ).all()


async def mark_visit(
    session: AsyncSession, appointment_id: int, visit: Visit, *, actor: str, now: datetime
) -> Appointment:
    appointment = await session.get(Appointment, appointment_id, populate_existing=True)
    if appointment is None or appointment.state != BOOKED:
        raise VisitError("not a booked appointment")
    if local_day(appointment.starts_at) > local_day(now):
        raise VisitError("the appointment's day has not come")
    marked = await session.execute(
        update(Appointment)
        .where(Appointment.id == appointment_id, Appointment.state == BOOKED)
        .values(state=visit.value, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if not marked.rowcount:  # type: ignore[attr-defined]
        raise VisitError("not a booked appointment")  # someone marked it a moment ago
    await AuditLog(session).record(
        actor,
        f"appointment.{visit.value}",
        appointment=appointment.code,
        office=appointment.office_id,
    )
    await session.refresh(appointment)
    return appointment


async def waiting_list(session: AsyncSession, office_id: str) -> Sequence[WaitlistEntry]:
    """Who waits for a freed place at the office, first come first served."""
    return (
        await session.scalars(
            select(WaitlistEntry)
            .where(
                WaitlistEntry.office_id == office_id,
                WaitlistEntry.state.in_((WAITING, OFFERED)),
            )
            .order_by(WaitlistEntry.created_at, WaitlistEntry.id)
        )
    ).all()
