"""Booking rules over the database: hold, confirm, cancel, move, waiting lists.

Every function takes the caller's session and never commits. A place is
taken by inserting its `slot_seats` row (see storage/models/booking.py), so
the database, not this module, decides who gets the last seat.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import partial
from typing import Any, cast

from sqlalchemy import and_, bindparam, delete, func, inspect, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery.outbox import enqueue
from bot.engine.events import Button, Reply
from bot.engine.globals import Global, open_payload
from bot.i18n import Translator, translator
from bot.services.booking import reminders, texts
from bot.services.booking.model import Office, OfficeCatalog
from bot.services.booking.slots import (
    KYIV,
    Slot,
    day_slots,
    find_slot,
    local_day,
    local_instant,
    slots_between,
    slots_by_day,
)
from bot.services.personal_data import PersonalData, Section
from storage.models import Person
from storage.models.booking import (
    BOOKED,
    CANCELLED,
    DECLINED,
    EXPIRED,
    HELD,
    LAPSED,
    LEFT,
    MOVED,
    OFFERED,
    RELEASED,
    TAKEN,
    WAITING,
    Appointment,
    SlotSeat,
    WaitlistEntry,
)
from storage.repositories import People

HOLD = timedelta(minutes=10)
BOOKING_DAYS = 14
#: a slot starting sooner than this is not offered (people need time to get there)
MIN_LEAD = timedelta(minutes=30)
#: how long a waiting-list offer stands (never past MIN_LEAD before the slot)
OFFER_FOR = timedelta(hours=2)
#: a freed slot closer than this is not worth offering to the waiting list
OFFER_MIN_AHEAD = timedelta(hours=3)
CODE_LETTERS = "DFGJLNQRSUVWZ"  # no letter that looks like a Cyrillic one
CODE_DIGITS = "23456789"


class Outcome(StrEnum):
    BOOKED = "booked"
    EXPIRED = "expired"  # the hold ran out and the place went back
    GONE = "gone"  # no such hold for this person (already confirmed, cancelled …)
    DUPLICATE = "duplicate"  # the person already has an appointment for this service


@dataclass(frozen=True)
class Confirmation:
    outcome: Outcome
    appointment: Appointment | None = None
    #: the appointment this one replaced (moved), whose reminders must go
    moved: Appointment | None = None


# -- reading -------------------------------------------------------------------


def window(now: datetime, days: int = BOOKING_DAYS) -> tuple[date, date]:
    today = local_day(now)
    return today, today + timedelta(days=days - 1)


_TAKEN = (
    select(SlotSeat.starts_at, func.count())
    .where(
        SlotSeat.office_id == bindparam("office_id"),
        SlotSeat.starts_at >= bindparam("start"),
        SlotSeat.starts_at < bindparam("end"),
        or_(SlotSeat.held_until.is_(None), SlotSeat.held_until > bindparam("now")),
    )
    .group_by(SlotSeat.starts_at)
)


async def taken_counts(
    session: AsyncSession, office_id: str, start: datetime, end: datetime, now: datetime
) -> dict[datetime, int]:
    """Places taken per slot start in [start, end): booked, staff-blocked, or held right now."""
    # Built once: on a booking screen, building the SELECT cost more than running it.
    rows = await session.execute(
        _TAKEN, {"office_id": office_id, "start": start, "end": end, "now": now}
    )
    return {starts_at: int(count) for starts_at, count in rows.all()}


async def free_slots(
    session: AsyncSession,
    catalog: OfficeCatalog,
    office: Office,
    now: datetime,
    days: int = BOOKING_DAYS,
    *,
    day: date | None = None,
) -> dict[date, list[Slot]]:
    """Free slots by local day over the booking window, days without any left out.

    With `day`, only that day (when it is in the window): the same answer for it,
    without counting the other days' places.
    """
    first, last = window(now, days)
    if day is not None:
        if not first <= day <= last:
            return {}
        first = last = day
    earliest = now + MIN_LEAD
    by_day = [
        (local, [s for s in slots if s.starts_at >= earliest])
        for local, slots in slots_by_day(catalog, office, first, last)
    ]
    by_day = [(local, slots) for local, slots in by_day if slots]
    if not by_day:
        return {}
    taken = await taken_counts(
        session,
        office.id,
        by_day[0][1][0].starts_at,
        by_day[-1][1][-1].starts_at + timedelta(seconds=1),
        now,
    )
    seats = office.seats
    free: dict[date, list[Slot]] = {}
    for local, slots in by_day:
        left = [s for s in slots if taken.get(s.starts_at, 0) < seats] if taken else slots
        if left:
            free[local] = left
    return free


async def remember_region(session: AsyncSession, person: Person, region: str) -> None:
    """The oblast someone looks in is their region, so announcements for it reach them."""
    await People(session).set_region(person, region)


#: `session.info` key: the appointments this transaction inserted or updated
_WRITTEN = "booking.written"


def _written(session: AsyncSession, appointment: Appointment) -> None:
    """Keep the appointment this transaction wrote, for the steps after this one.

    Until the transaction commits, no other transaction can change that row: one it
    inserted is invisible to others, one it updated is locked (PostgreSQL), and on
    SQLite the transaction holds the only write lock. So the session's copy is the
    row, and the next step of the same update (the confirmation after the hold, the
    booked card after the confirmation) need not read it again. Kept here because
    the session's identity map holds its objects weakly: the copy would be gone.
    """
    transaction = session.sync_session.get_transaction()
    written: tuple[object, dict[int, Appointment]] | None = session.info.get(_WRITTEN)
    if written is None or written[0] is not transaction:
        written = (transaction, {})
        session.info[_WRITTEN] = written
    written[1][appointment.id] = appointment


def _written_copy(session: AsyncSession, appointment_id: int) -> Appointment | None:
    written = session.info.get(_WRITTEN)
    if written is None or written[0] is not session.sync_session.get_transaction():
        return None
    appointment: Appointment | None = written[1].get(appointment_id)
    # Gone from the session (an update's savepoint rolled back) or expired: read it.
    if appointment is None or appointment not in session or inspect(appointment).unloaded:
        return None
    return appointment


async def get_appointment(
    session: AsyncSession, appointment_id: int, person_id: int | None = None
) -> Appointment | None:
    # Read again, even when the session holds it: another process may have changed it
    # since (a hold swept, a booking cancelled by staff), unless this transaction wrote it.
    appointment = _written_copy(session, appointment_id) or await session.get(
        Appointment, appointment_id, populate_existing=True
    )
    if appointment is None or (person_id is not None and appointment.person_id != person_id):
        return None
    return appointment


_OFFER_ID = (
    select(Appointment.id)
    .where(
        Appointment.person_id == bindparam("person_id"),
        Appointment.state == HELD,
        Appointment.waitlist_id.is_not(None),
        Appointment.hold_until > bindparam("now"),
    )
    .order_by(Appointment.starts_at)
    .limit(1)
    .scalar_subquery()
)
_UPCOMING_COUNT = (
    select(func.count())
    .select_from(Appointment)
    .where(
        Appointment.person_id == bindparam("person_id"),
        Appointment.state == BOOKED,
        Appointment.ends_at > bindparam("now"),
    )
    .scalar_subquery()
)
_WAITING_COUNT = (
    select(func.count())
    .select_from(WaitlistEntry)
    .where(WaitlistEntry.person_id == bindparam("person_id"), WaitlistEntry.state == WAITING)
    .scalar_subquery()
)
_OVERVIEW = select(_OFFER_ID, _UPCOMING_COUNT, _WAITING_COUNT)


@dataclass(frozen=True)
class Overview:
    """What the booking dialog's first screen needs about the person."""

    #: the waiting-list place held for them (`pending_offer`)
    offer: Appointment | None
    #: their upcoming appointments and waiting-list entries, counted
    mine: int


async def overview(session: AsyncSession, person_id: int, now: datetime) -> Overview:
    """`pending_offer` and the counts of `upcoming` and `waiting`, in one statement."""
    row = (await session.execute(_OVERVIEW, {"person_id": person_id, "now": now})).one()
    offer_id, upcoming_count, waiting_count = cast(tuple[int | None, int, int], tuple(row))
    # Seldom there: one more read then, for the offer's details.
    offer = await session.get(Appointment, offer_id) if offer_id is not None else None
    return Overview(offer, int(upcoming_count or 0) + int(waiting_count or 0))


async def upcoming(session: AsyncSession, person_id: int, now: datetime) -> Sequence[Appointment]:
    return (
        await session.scalars(
            select(Appointment)
            .where(
                Appointment.person_id == person_id,
                Appointment.state == BOOKED,
                Appointment.ends_at > now,
            )
            .order_by(Appointment.starts_at)
        )
    ).all()


async def booked_for_service(
    session: AsyncSession, person_id: int, service_id: str, now: datetime
) -> Appointment | None:
    return await session.scalar(
        select(Appointment).where(
            Appointment.person_id == person_id,
            Appointment.service_id == service_id,
            Appointment.state == BOOKED,
            Appointment.ends_at > now,
        )
    )


_BOOKED_ID = select(Appointment.id).where(
    Appointment.person_id == bindparam("person_id"),
    Appointment.service_id == bindparam("service_id"),
    Appointment.state == BOOKED,
    Appointment.ends_at > bindparam("now"),
)


async def booked_id_for_service(
    session: AsyncSession, person_id: int, service_id: str, now: datetime
) -> int | None:
    """`booked_for_service`'s id alone: no appointment object to build."""
    found = await session.scalar(
        _BOOKED_ID, {"person_id": person_id, "service_id": service_id, "now": now}
    )
    return int(found) if found is not None else None


async def day_list(session: AsyncSession, office_id: str, day: date) -> Sequence[Appointment]:
    """Booked appointments of one office on one local day, in time order (for staff)."""
    start = local_instant(day, datetime.min.time())
    end = local_instant(day + timedelta(days=1), datetime.min.time())
    assert start is not None and end is not None  # midnight always exists in Europe/Kyiv
    return (
        await session.scalars(
            select(Appointment)
            .where(
                Appointment.office_id == office_id,
                Appointment.state == BOOKED,
                Appointment.starts_at >= start,
                Appointment.starts_at < end,
            )
            .order_by(Appointment.starts_at, Appointment.id)
        )
    ).all()


@dataclass(frozen=True)
class DayPlaces:
    """One office's places on one local day, as staff see them."""

    total: int
    #: places staff keep free of bookings (walk-ins; the demo's full office)
    kept: int
    #: places taken by bookings, holds in progress and walk-ins together
    taken: int

    @property
    def free(self) -> int:
        return max(self.total - self.taken, 0)


async def day_places(
    session: AsyncSession, catalog: OfficeCatalog, office: Office, day: date
) -> DayPlaces:
    start = local_instant(day, datetime.min.time())
    end = local_instant(day + timedelta(days=1), datetime.min.time())
    assert start is not None and end is not None
    rows = (
        await session.execute(
            select(SlotSeat.appointment_id).where(
                SlotSeat.office_id == office.id,
                SlotSeat.starts_at >= start,
                SlotSeat.starts_at < end,
            )
        )
    ).all()
    return DayPlaces(
        total=len(day_slots(catalog, office, day)) * office.seats,
        kept=sum(1 for (appointment_id,) in rows if appointment_id is None),
        taken=len(rows),
    )


# -- taking and freeing places --------------------------------------------------


def _insert(session: AsyncSession) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT DO NOTHING."""
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def _random_code() -> str:
    return (
        "".join(secrets.choice(CODE_LETTERS) for _ in range(3))
        + "-"
        + "".join(secrets.choice(CODE_DIGITS) for _ in range(3))
    )


_CODE_TAKEN = select(Appointment.id).where(Appointment.code == bindparam("code")).exists()
_IS_CODE_TAKEN = select(_CODE_TAKEN)


async def _new_code(session: AsyncSession) -> str:
    while True:
        code = _random_code()
        if not await session.scalar(_IS_CODE_TAKEN, {"code": code}):
            return code


async def _claim_seat(
    session: AsyncSession,
    office: Office,
    starts_at: datetime,
    appointment_id: int | None,
    held_until: datetime | None,
    now: datetime,
) -> int | None:
    """Take a free seat of the slot for the appointment; None when every seat is taken.

    INSERT … ON CONFLICT DO NOTHING: of two transactions inserting the same seat,
    the second waits for the first and then inserts nothing (PostgreSQL), or
    runs after it (SQLite's write lock). Either way one row, one winner.
    """
    # The seats taken first (one statement), so the insert goes to a free one: trying
    # seat after seat cost a round trip per seat already taken, most of a busy slot's.
    slot = {"office_id": office.id, "starts_at": starts_at}
    taken = (await session.execute(_SEATS_OF_SLOT, slot)).all()
    if any(until is not None and until <= now for _, until in taken):
        # A hold that ran out keeps nobody's place.
        await session.execute(_DROP_LAPSED, slot | {"now": now})
    busy = {seat_no for seat_no, until in taken if until is None or until > now}
    statement = _seat_insert(session)
    values = slot | {"appointment_id": appointment_id, "held_until": held_until}
    for seat_no in range(1, office.seats + 1):
        # A seat taken meanwhile by another transaction inserts nothing: the next is tried.
        if seat_no not in busy and (
            (await session.execute(statement, values | {"seat_no": seat_no})).scalar_one_or_none()
            is not None
        ):
            return seat_no
    return None


# Built once, like the other statements of a booking step (building one costs about
# as much as running it). No seat is ever loaded as an object: nothing to synchronise.
_DROP_LAPSED = (
    delete(SlotSeat)
    .where(
        SlotSeat.office_id == bindparam("office_id"),
        SlotSeat.starts_at == bindparam("starts_at"),
        SlotSeat.held_until.is_not(None),
        SlotSeat.held_until <= bindparam("now"),
    )
    .execution_options(synchronize_session=False)
)
_SEATS_OF_SLOT = select(SlotSeat.seat_no, SlotSeat.held_until).where(
    SlotSeat.office_id == bindparam("office_id"), SlotSeat.starts_at == bindparam("starts_at")
)
_SEAT_INSERTS: dict[str, Any] = {}


def _seat_insert(session: AsyncSession) -> Any:
    """INSERT of one seat, ON CONFLICT DO NOTHING, in the session's dialect."""
    dialect = session.get_bind().dialect.name
    statement = _SEAT_INSERTS.get(dialect)
    if statement is None:
        columns = SlotSeat.__table__.c
        statement = (
            _insert(session)(SlotSeat)
            .values(
                {
                    name: bindparam(name, type_=columns[name].type)
                    for name in (
                        "office_id",
                        "starts_at",
                        "seat_no",
                        "appointment_id",
                        "held_until",
                    )
                }
            )
            .on_conflict_do_nothing(index_elements=["office_id", "starts_at", "seat_no"])
            .returning(SlotSeat.seat_no)
        )
        _SEAT_INSERTS[dialect] = statement
    return statement


async def _hold(
    session: AsyncSession,
    office: Office,
    slot: Slot,
    *,
    person_id: int,
    service_id: str,
    until: datetime,
    now: datetime,
    replaces_id: int | None = None,
    waitlist_id: int | None = None,
    code: str | None = None,
) -> Appointment | None:
    """`code`, when given, is one known to be free in this transaction."""
    appointment = Appointment(
        code=code or await _new_code(session),
        person_id=person_id,
        office_id=office.id,
        service_id=service_id,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        state=HELD,
        hold_until=until,
        replaces_id=replaces_id,
        waitlist_id=waitlist_id,
        created_at=now,
        updated_at=now,
    )
    session.add(appointment)
    await session.flush()
    if await _claim_seat(session, office, slot.starts_at, appointment.id, until, now) is None:
        await session.delete(appointment)
        await session.flush()
        return None
    _written(session, appointment)
    return appointment


async def hold(
    session: AsyncSession,
    catalog: OfficeCatalog,
    *,
    person_id: int,
    office_id: str,
    service_id: str,
    starts_at: datetime,
    now: datetime,
    replaces_id: int | None = None,
) -> Appointment | None:
    """Keep a place for the person for `HOLD` while they confirm; None when it is gone.

    A person holds one place at a time: starting a new hold releases the old one.
    """
    office = catalog.office(office_id)
    if office is None or service_id not in office.services:
        return None
    slot = find_slot(catalog, office, starts_at)
    if slot is None or slot.starts_at < now + MIN_LEAD:
        return None
    # Whether there is a hold to release and whether a new code is free, in one read.
    code = _random_code()
    holding, taken = (
        await session.execute(_BEFORE_HOLD, {"person_id": person_id, "code": code})
    ).one()
    if holding:
        await release_holds(session, catalog, person_id, now)
        # A place released goes to the waiting list, with a code of its own: check again.
        taken = True
    return await _hold(
        session,
        office,
        slot,
        person_id=person_id,
        service_id=service_id,
        until=now + HOLD,
        now=now,
        replaces_id=replaces_id,
        code=None if taken else code,
    )


_BEFORE_HOLD = select(
    select(Appointment.id)
    .where(
        Appointment.person_id == bindparam("person_id"),
        Appointment.state == HELD,
        Appointment.waitlist_id.is_(None),
    )
    .exists(),
    _CODE_TAKEN,
)


async def _free_seats(
    session: AsyncSession, catalog: OfficeCatalog, appointment_id: int, now: datetime
) -> None:
    """Give the appointment's places back; each one goes first to the waiting list."""
    freed = (
        await session.execute(
            delete(SlotSeat)
            .where(SlotSeat.appointment_id == appointment_id)
            .returning(SlotSeat.office_id, SlotSeat.starts_at)
        )
    ).all()
    for office_id, starts_at in freed:
        await offer_freed_slot(session, catalog, office_id, starts_at, now)


async def _set_state(
    session: AsyncSession, appointment_id: int, from_state: str, to_state: str, now: datetime
) -> bool:
    """Move an appointment between states only if it is still in `from_state`."""
    result = await session.execute(
        update(Appointment)
        .where(Appointment.id == appointment_id, Appointment.state == from_state)
        .values(state=to_state, hold_until=None, updated_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def release_holds(
    session: AsyncSession, catalog: OfficeCatalog, person_id: int, now: datetime
) -> None:
    """Let go of the person's unconfirmed holds (not waiting-list offers, which they answer)."""
    held = (
        await session.scalars(
            select(Appointment.id).where(
                Appointment.person_id == person_id,
                Appointment.state == HELD,
                Appointment.waitlist_id.is_(None),
            )
        )
    ).all()
    for appointment_id in held:
        if await _set_state(session, appointment_id, HELD, EXPIRED, now):
            await _free_seats(session, catalog, appointment_id, now)


async def confirm(
    session: AsyncSession,
    catalog: OfficeCatalog,
    appointment_id: int,
    person_id: int,
    now: datetime,
) -> Confirmation:
    """Turn a hold into a booking, if the hold still stands.

    Whether it stands is decided by the database: the seat row must still be
    this appointment's and unexpired. Rescheduling frees the old place in the
    same transaction.
    """
    # The hold read again (another process may have swept it), and whether the person
    # waits for this service anywhere, which a booking ends: one statement.
    row = (await session.execute(_TO_CONFIRM, {"appointment_id": appointment_id})).one_or_none()
    appointment, waiting = (row[0], bool(row[1])) if row is not None else (None, False)
    if appointment is None or appointment.person_id != person_id or appointment.state != HELD:
        return Confirmation(Outcome.GONE)
    # Plain values: a rolled-back savepoint expires the ORM objects it touched.
    held_id, replaces_id, waitlist_id = (
        appointment.id,
        appointment.replaces_id,
        appointment.waitlist_id,
    )
    try:
        moved = await _book_held(session, held_id, replaces_id, person_id, now)
    except _HoldLapsed:
        await _let_go(session, catalog, held_id, EXPIRED, waitlist_id, LAPSED, now)
        return Confirmation(Outcome.EXPIRED)
    except IntegrityError:
        # Already booked for this service: let the held place go rather than waste it.
        await _let_go(session, catalog, held_id, RELEASED, waitlist_id, DECLINED, now)
        return Confirmation(Outcome.DUPLICATE)
    # `_book_held`'s UPDATE changed the session's copy too (the ORM applies a simple
    # WHERE to the objects it holds); no need to read it back.
    _written(session, appointment)
    if moved is not None:
        await _free_seats(session, catalog, moved.id, now)
        await session.refresh(moved)
        _written(session, moved)
    await _close_offer(session, waitlist_id, TAKEN, now)
    if waiting:
        await _leave_waitlists(session, person_id, appointment.service_id, now)
    # In this transaction: the reminders stand or fall with the booking (and the move).
    await reminders.plan(
        session,
        catalog,
        [appointment, *([moved] if moved else [])],
        now,
        first_booked=(appointment.id,),
    )
    return Confirmation(Outcome.BOOKED, appointment, moved)


_TO_CONFIRM = (
    select(
        Appointment,
        select(WaitlistEntry.id)
        .where(
            WaitlistEntry.person_id == Appointment.person_id,
            WaitlistEntry.service_id == Appointment.service_id,
            WaitlistEntry.state == WAITING,
        )
        .exists(),
    )
    .where(Appointment.id == bindparam("appointment_id"))
    .execution_options(populate_existing=True)
)


async def _book_held(
    session: AsyncSession,
    held_id: int,
    replaces_id: int | None,
    person_id: int,
    now: datetime,
) -> Appointment | None:
    """Keep the held seat and book it, in one savepoint; the appointment it moved, if any.

    Raises _HoldLapsed when the hold ran out, IntegrityError when the person is
    already booked for this service.
    """
    moved: Appointment | None = None
    async with session.begin_nested():
        kept = await session.execute(_KEEP_SEAT, {"held_id": held_id, "now": now})
        if not kept.rowcount:  # type: ignore[attr-defined]
            raise _HoldLapsed
        if replaces_id is not None:
            old = await get_appointment(session, replaces_id, person_id)
            if old is not None and await _set_state(session, old.id, BOOKED, MOVED, now):
                moved = old
        await session.execute(
            update(Appointment)
            .where(Appointment.id == held_id, Appointment.state == HELD)
            .values(state=BOOKED, hold_until=None, updated_at=now)
        )
    return moved


_KEEP_SEAT = (
    update(SlotSeat)
    .where(
        SlotSeat.appointment_id == bindparam("held_id"),
        SlotSeat.held_until > bindparam("now"),
    )
    .values(held_until=None)
    .execution_options(synchronize_session=False)
)


async def _let_go(
    session: AsyncSession,
    catalog: OfficeCatalog,
    held_id: int,
    state: str,
    waitlist_id: int | None,
    offer_state: str,
    now: datetime,
) -> None:
    """A hold that did not become a booking: its seat is free again, its offer closed."""
    if await _set_state(session, held_id, HELD, state, now):
        await _free_seats(session, catalog, held_id, now)
    await _close_offer(session, waitlist_id, offer_state, now)


async def _leave_waitlists(
    session: AsyncSession, person_id: int, service_id: str, now: datetime
) -> None:
    """Booked now: waiting for the same service elsewhere would only block others."""
    await session.execute(
        update(WaitlistEntry)
        .where(
            WaitlistEntry.person_id == person_id,
            WaitlistEntry.service_id == service_id,
            WaitlistEntry.state == WAITING,
        )
        .values(state=LEFT, updated_at=now)
    )


class _HoldLapsed(Exception):
    pass


async def cancel(
    session: AsyncSession,
    catalog: OfficeCatalog,
    appointment_id: int,
    person_id: int,
    now: datetime,
) -> Appointment | None:
    """Cancel a booking; the place goes to the waiting list first. None if nothing to cancel."""
    appointment = await get_appointment(session, appointment_id, person_id)
    if appointment is None or not await _set_state(
        session, appointment.id, BOOKED, CANCELLED, now
    ):
        return None
    await _free_seats(session, catalog, appointment.id, now)
    await session.refresh(appointment)
    await reminders.plan(session, catalog, [appointment], now)  # none left pending
    return appointment


async def sweep(session: AsyncSession, catalog: OfficeCatalog, now: datetime) -> int:
    """Expire holds and offers nobody answered in time; pass their places on. Idempotent."""
    lapsed = (
        await session.scalars(
            select(Appointment).where(
                Appointment.state == HELD,
                Appointment.hold_until.is_not(None),
                Appointment.hold_until <= now,
            )
        )
    ).all()
    count = 0
    for appointment in lapsed:
        if await _set_state(session, appointment.id, HELD, EXPIRED, now):
            count += 1
            await _close_offer(session, appointment.waitlist_id, LAPSED, now)
            await _free_seats(session, catalog, appointment.id, now)
    return count


# -- waiting list --------------------------------------------------------------------


async def join_waitlist(
    session: AsyncSession, *, person_id: int, office_id: str, service_id: str, now: datetime
) -> tuple[WaitlistEntry, int]:
    """Put the person on the office's waiting list (once); returns the entry and their place."""
    entry = await session.scalar(
        select(WaitlistEntry).where(
            WaitlistEntry.person_id == person_id,
            WaitlistEntry.office_id == office_id,
            WaitlistEntry.service_id == service_id,
            WaitlistEntry.state.in_((WAITING, OFFERED)),
        )
    )
    if entry is None:
        entry = WaitlistEntry(
            person_id=person_id,
            office_id=office_id,
            service_id=service_id,
            state=WAITING,
            created_at=now,
            updated_at=now,
        )
        session.add(entry)
        await session.flush()
    ahead = await session.scalar(
        select(func.count())
        .select_from(WaitlistEntry)
        .where(
            WaitlistEntry.office_id == office_id,
            WaitlistEntry.state == WAITING,
            or_(
                WaitlistEntry.created_at < entry.created_at,
                and_(WaitlistEntry.created_at == entry.created_at, WaitlistEntry.id < entry.id),
            ),
        )
    )
    return entry, int(ahead or 0) + 1


async def waiting(session: AsyncSession, person_id: int) -> Sequence[WaitlistEntry]:
    return (
        await session.scalars(
            select(WaitlistEntry)
            .where(WaitlistEntry.person_id == person_id, WaitlistEntry.state == WAITING)
            .order_by(WaitlistEntry.created_at)
        )
    ).all()


async def leave_waitlist(
    session: AsyncSession, entry_id: int, person_id: int, now: datetime
) -> bool:
    result = await session.execute(
        update(WaitlistEntry)
        .where(
            WaitlistEntry.id == entry_id,
            WaitlistEntry.person_id == person_id,
            WaitlistEntry.state == WAITING,
        )
        .values(state=LEFT, updated_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def pending_offer(
    session: AsyncSession, person_id: int, now: datetime
) -> Appointment | None:
    """The waiting-list place currently held for the person, if any."""
    return await session.scalar(
        select(Appointment)
        .where(
            Appointment.person_id == person_id,
            Appointment.state == HELD,
            Appointment.waitlist_id.is_not(None),
            Appointment.hold_until > now,
        )
        .order_by(Appointment.starts_at)
    )


async def decline_offer(
    session: AsyncSession,
    catalog: OfficeCatalog,
    appointment_id: int,
    person_id: int,
    now: datetime,
) -> bool:
    appointment = await get_appointment(session, appointment_id, person_id)
    if appointment is None or appointment.waitlist_id is None:
        return False
    if not await _set_state(session, appointment.id, HELD, RELEASED, now):
        return False
    await _close_offer(session, appointment.waitlist_id, DECLINED, now)
    await _free_seats(session, catalog, appointment.id, now)
    return True


async def _close_offer(
    session: AsyncSession, waitlist_id: int | None, state: str, now: datetime
) -> None:
    if waitlist_id is None:
        return
    await session.execute(
        update(WaitlistEntry)
        .where(WaitlistEntry.id == waitlist_id, WaitlistEntry.state == OFFERED)
        .values(state=state, updated_at=now)
    )


async def offer_freed_slot(
    session: AsyncSession,
    catalog: OfficeCatalog,
    office_id: str,
    starts_at: datetime,
    now: datetime,
) -> WaitlistEntry | None:
    """Offer a place that just came free to the first person waiting for this office.

    The place is held for them until the offer runs out; they get a message in
    their language. Nobody waiting, or too late to come: the place is simply free.
    """
    office = catalog.office(office_id)
    if office is None or starts_at - now < OFFER_MIN_AHEAD:
        return None
    slot = find_slot(catalog, office, starts_at)
    if slot is None:
        return None
    until = min(now + OFFER_FOR, starts_at - MIN_LEAD)
    for entry in await _waiting_at(session, office_id):
        if entry.service_id in office.services and await _claim(session, entry, now):
            return await _offer(session, catalog, office, slot, entry, until, now)
    return None


async def _waiting_at(session: AsyncSession, office_id: str) -> Sequence[WaitlistEntry]:
    """The office's waiting list, first come first served."""
    return (
        await session.scalars(
            select(WaitlistEntry)
            .where(WaitlistEntry.office_id == office_id, WaitlistEntry.state == WAITING)
            .order_by(WaitlistEntry.created_at, WaitlistEntry.id)
            .limit(50)
        )
    ).all()


async def _claim(session: AsyncSession, entry: WaitlistEntry, now: datetime) -> bool:
    """Mark the entry offered, unless its person has booked meanwhile (then they leave)."""
    if await booked_for_service(session, entry.person_id, entry.service_id, now) is not None:
        await session.execute(
            update(WaitlistEntry)
            .where(WaitlistEntry.id == entry.id, WaitlistEntry.state == WAITING)
            .values(state=LEFT, updated_at=now)
        )
        return False
    # Claim the entry first, so two processes never offer one place to two people.
    claimed = await session.execute(
        update(WaitlistEntry)
        .where(WaitlistEntry.id == entry.id, WaitlistEntry.state == WAITING)
        .values(state=OFFERED, updated_at=now)
    )
    return bool(claimed.rowcount)  # type: ignore[attr-defined]


async def _offer(
    session: AsyncSession,
    catalog: OfficeCatalog,
    office: Office,
    slot: Slot,
    entry: WaitlistEntry,
    until: datetime,
    now: datetime,
) -> WaitlistEntry | None:
    """Hold the place for the claimed entry and tell its person; None if it was taken."""
    appointment = await _hold(
        session,
        office,
        slot,
        person_id=entry.person_id,
        service_id=entry.service_id,
        until=until,
        now=now,
        waitlist_id=entry.id,
    )
    if appointment is None:  # someone else took the place meanwhile
        await session.execute(
            update(WaitlistEntry)
            .where(WaitlistEntry.id == entry.id)
            .values(state=WAITING, updated_at=now)
        )
        return None
    await session.execute(
        update(WaitlistEntry)
        .where(WaitlistEntry.id == entry.id)
        .values(offer_appointment_id=appointment.id)
    )
    await _notify_offer(session, catalog, appointment, entry, now)
    return entry


async def _notify_offer(
    session: AsyncSession,
    catalog: OfficeCatalog,
    appointment: Appointment,
    entry: WaitlistEntry,
    now: datetime,
) -> None:
    person = await session.get(Person, appointment.person_id)
    if person is None:
        return

    def render(tr: Translator) -> Reply:
        return Reply(
            title=tr._("A place has opened for you"),
            text=texts.offer_text(tr, catalog, appointment),
            # opens the booking dialog's first screen, which shows the offer with its answers
            buttons=(
                (
                    Button(tr._("✅ Take this place"), open_payload("booking", "service")),
                    Button(tr._("☰ Menu"), Global.MENU.value),
                ),
            ),
        )

    await enqueue(
        session,
        person_id=person.id,
        kind="waitlist",
        dedupe_key=f"waitlist:{entry.id}:{appointment.id}",
        replies=render(translator(person.locale or "uk")),
        translations=render,
        not_before=now,
    )


# -- staff: places kept for walk-ins (demo seeding) ------------------------------------


async def block_seats(
    session: AsyncSession, catalog: OfficeCatalog, office_id: str, now: datetime, days: int
) -> int:
    """Keep every place of the office free of bookings over the window; returns places taken."""
    office = catalog.office(office_id)
    if office is None:
        return 0
    first, last = window(now, days)
    taken = 0
    for slot in slots_between(catalog, office, first, last):
        while await _claim_seat(session, office, slot.starts_at, None, None, now) is not None:
            taken += 1
    return taken


# -- "My data" ----------------------------------------------------------------------


async def describe_bookings(
    session: AsyncSession, person: Person, tr: Translator, *, catalog: OfficeCatalog
) -> list[str]:
    """What booking stores about the person, for Menu → My data."""
    rows = (
        await session.scalars(
            select(Appointment)
            .where(Appointment.person_id == person.id)
            .order_by(Appointment.starts_at)
        )
    ).all()
    lines = [
        tr._(
            "Appointment: {when}, {office}, code {code}",
            when=texts.when(tr, appointment.starts_at, start=False),
            office=texts.office_name(tr, catalog, appointment.office_id),
            code=appointment.code,
        )
        for appointment in rows
        if appointment.state == BOOKED
    ]
    others = sum(1 for appointment in rows if appointment.state != BOOKED)
    if others:
        lines.append(tr._("Earlier, cancelled or moved appointments: {n}", n=others))
    lines += [
        tr._("Waiting list: {office}", office=texts.office_name(tr, catalog, entry.office_id))
        for entry in await waiting(session, person.id)
    ]
    return lines


def personal_data(catalog: OfficeCatalog) -> PersonalData:
    """What booking keeps about a person, and the oblast names of `catalog` (bot.app.FEATURES)."""
    return PersonalData(
        sections=(Section("booking", partial(describe_bookings, catalog=catalog)),),
        region_names=(partial(texts.oblast_name, catalog=catalog),),
    )


__all__ = [
    "BOOKING_DAYS",
    "HOLD",
    "KYIV",
    "Confirmation",
    "Outcome",
    "block_seats",
    "cancel",
    "confirm",
    "day_list",
    "free_slots",
    "hold",
    "join_waitlist",
    "offer_freed_slot",
    "pending_offer",
    "sweep",
    "upcoming",
]
