"""After the appointment: offices mark who did not come (and undo it); the day's sheet.

A no-show is a row in `no_shows` (storage/models/attendance.py): the appointment
itself stays booked, so booking's own states and rules are untouched, and
`stats` counts the rows per office. Only a booked appointment whose time has
come can be marked. The command line (`python -m bot no-show`) and the staff
console both mark through `mark_no_shows`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.booking.appointments import day_list
from storage.models.attendance import NoShow
from storage.models.booking import BOOKED, OFFERED, WAITING, Appointment, WaitlistEntry
from storage.repositories import AuditLog


class VisitError(ValueError):
    """Why nothing was marked; the message names appointment codes only."""


def can_mark(appointment: Appointment, now: datetime) -> bool:
    return appointment.state == BOOKED and appointment.starts_at <= now


async def mark_no_shows(
    session: AsyncSession,
    appointments: Sequence[Appointment],
    *,
    actor: str,
    now: datetime,
    undo: bool = False,
    via: str = "cli",
) -> int:
    """Mark (or unmark) them all, or none: an appointment still ahead is a mistake."""
    not_past = [a.code for a in appointments if not can_mark(a, now)]
    if not_past and not undo:
        raise VisitError(f"not a past booked appointment: {', '.join(sorted(not_past))}")
    ids = [a.id for a in appointments]
    await session.execute(delete(NoShow).where(NoShow.appointment_id.in_(ids)))
    if not undo:
        session.add_all(NoShow(appointment_id=i, marked_at=now, marked_by=actor) for i in ids)
    await AuditLog(session).record(
        actor,
        "appointment.no_show_undone" if undo else "appointment.no_show",
        count=len(ids),
        via=via,
    )
    return len(ids)


async def day_sheet(
    session: AsyncSession, office_id: str, day: date
) -> tuple[Sequence[Appointment], set[int]]:
    """One office's booked appointments on a local day, and which of them did not come."""
    appointments = await day_list(session, office_id, day)
    missed = await session.scalars(
        select(NoShow.appointment_id).where(
            NoShow.appointment_id.in_([a.id for a in appointments])
        )
    )
    return appointments, set(missed)


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
