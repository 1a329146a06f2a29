"""Booking rules on both databases: holds, the race for the last seat, waiting lists."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from bot.services.booking import appointments as booking
from bot.services.booking.appointments import Outcome
from storage.db import Database
from storage.models import OutboxMessage
from storage.models.booking import Appointment, SlotSeat, WaitlistEntry
from tests.booking_support import NOW, appointment, book, catalog, kyiv, make_people, office

THU_9 = kyiv(2026, 11, 26, 9)  # Thursday 09:00 Kyiv
THU_930 = kyiv(2026, 11, 26, 9, 30)


@pytest.fixture
async def app(db_url: str) -> AsyncIterator[Database]:
    """Only the database: these rules need no dialogs or data files (keeps the suite fast)."""
    db = Database(db_url)
    yield db
    await db.dispose()


async def test_fifty_people_confirming_the_last_seat_get_one_booking(app: Database) -> None:
    cat = catalog(office(seats=3))
    people = await make_people(app, 52)
    # Two of three seats are gone already.
    for person_id in people[:2]:
        assert (await book(app, cat, person_id, THU_9)).outcome is Outcome.BOOKED

    results = await asyncio.gather(*(book(app, cat, p, THU_9) for p in people[2:]))

    assert sum(r.outcome is Outcome.BOOKED for r in results) == 1
    async with app.transaction() as session:
        seats = await session.scalar(
            select(func.count()).select_from(SlotSeat).where(SlotSeat.starts_at == THU_9)
        )
        booked = await session.scalar(
            select(func.count())
            .select_from(Appointment)
            .where(Appointment.starts_at == THU_9, Appointment.state == "booked")
        )
        free = await booking.free_slots(session, cat, cat.offices["test-office"], NOW)
    assert seats == 3 and booked == 3
    assert THU_9 not in [s.starts_at for s in free[THU_9.date()]]


async def test_a_held_place_is_hidden_from_others_until_the_hold_runs_out(app: Database) -> None:
    cat = catalog()
    alice, bob = await make_people(app, 2)
    o = cat.offices["test-office"]
    async with app.transaction() as session:
        held = await booking.hold(
            session,
            cat,
            person_id=alice,
            office_id=o.id,
            service_id="idp",
            starts_at=THU_9,
            now=NOW,
        )
        assert held is not None and held.hold_until == NOW + timedelta(minutes=10)
        free = await booking.free_slots(session, cat, o, NOW)
        assert THU_9 not in [s.starts_at for s in free[THU_9.date()]]
    # Bob cannot take it while it is held …
    assert (await book(app, cat, bob, THU_9, NOW + timedelta(minutes=9))).outcome is Outcome.GONE
    # … but can once the ten minutes have passed.
    later = NOW + timedelta(minutes=11)
    assert (await book(app, cat, bob, THU_9, later)).outcome is Outcome.BOOKED
    async with app.transaction() as session:
        late = await booking.confirm(session, cat, held.id, alice, later)
    assert late.outcome is Outcome.EXPIRED
    assert (await appointment(app, held.id)).state == "expired"


async def test_an_unconfirmed_hold_expires_in_the_sweep(app: Database) -> None:
    cat = catalog()
    (alice,) = await make_people(app, 1)
    async with app.transaction() as session:
        held = await booking.hold(
            session, cat, person_id=alice, office_id="test-office", service_id="idp",
            starts_at=THU_9, now=NOW,
        )  # fmt: skip
        assert held is not None
    async with app.transaction() as session:
        assert await booking.sweep(session, cat, NOW + timedelta(minutes=5)) == 0
        assert await booking.sweep(session, cat, NOW + timedelta(minutes=10)) == 1
        assert await booking.sweep(session, cat, NOW + timedelta(minutes=10)) == 0
        seats = await session.scalar(select(func.count()).select_from(SlotSeat))
    assert seats == 0
    assert (await appointment(app, held.id)).state == "expired"


async def test_one_active_appointment_per_service_and_moving_frees_the_old_place(
    app: Database,
) -> None:
    cat = catalog()
    (alice,) = await make_people(app, 1)
    first = await book(app, cat, alice, THU_9)
    assert first.outcome is Outcome.BOOKED and first.appointment is not None
    assert (await book(app, cat, alice, THU_930)).outcome is Outcome.DUPLICATE
    async with app.transaction() as session:  # the refused hold did not keep the place
        free = await booking.free_slots(session, cat, cat.offices["test-office"], NOW)
    assert THU_930 in [s.starts_at for s in free[THU_9.date()]]
    # Another service is fine.
    other = await book(app, cat, alice, kyiv(2026, 11, 27, 9), service_id="subsidy")
    assert other.outcome is Outcome.BOOKED

    moved = await book(app, cat, alice, THU_930, replaces_id=first.appointment.id)
    assert moved.outcome is Outcome.BOOKED and moved.moved is not None
    assert (await appointment(app, first.appointment.id)).state == "moved"
    async with app.transaction() as session:
        free = await booking.free_slots(session, cat, cat.offices["test-office"], NOW)
        mine = await booking.upcoming(session, alice, NOW)
    starts = [s.starts_at for s in free[THU_9.date()]]
    assert THU_9 in starts and THU_930 not in starts
    assert [a.starts_at for a in mine] == [THU_930, kyiv(2026, 11, 27, 9)]

    async with app.transaction() as session:
        assert moved.appointment is not None
        cancelled = await booking.cancel(session, cat, moved.appointment.id, alice, NOW)
        again = await booking.cancel(session, cat, moved.appointment.id, alice, NOW)
    assert cancelled is not None and cancelled.state == "cancelled" and again is None
    assert (await book(app, cat, alice, THU_9)).outcome is Outcome.BOOKED


async def test_codes_are_short_and_unique(app: Database) -> None:
    cat = catalog(office(seats=5))
    people = await make_people(app, 5)
    codes = [(await book(app, cat, p, THU_9)).appointment.code for p in people]  # type: ignore[union-attr]
    assert len(set(codes)) == 5
    assert all(len(code) == 7 and code[3] == "-" for code in codes)


async def test_waiting_list_offers_the_freed_place_first_come_first_served(app: Database) -> None:
    # One seat, one slot a week: two Mondays in the 14-day window.
    weekly = office(schedule={"mon": "09:00-09:30"})
    cat = catalog(weekly)
    ann, ben, cat_, dan, eve = await make_people(app, 5)
    mon1, mon2 = kyiv(2026, 11, 30, 9), kyiv(2026, 12, 7, 9)
    first = await book(app, cat, ann, mon1)
    assert first.appointment is not None
    assert (await book(app, cat, ben, mon2)).outcome is Outcome.BOOKED
    async with app.transaction() as session:
        assert await booking.free_slots(session, cat, weekly, NOW) == {}
        _, place_c = await booking.join_waitlist(
            session, person_id=cat_, office_id=weekly.id, service_id="idp", now=NOW
        )
        _, place_d = await booking.join_waitlist(
            session, person_id=dan, office_id=weekly.id, service_id="subsidy",
            now=NOW + timedelta(minutes=1),
        )  # fmt: skip
        _, again = await booking.join_waitlist(
            session, person_id=cat_, office_id=weekly.id, service_id="idp", now=NOW
        )
    assert (place_c, place_d, again) == (1, 2, 1)

    # Ann cancels: the place goes to the first in line, held for them, and nobody else sees it.
    later = NOW + timedelta(hours=1)
    async with app.transaction() as session:
        await booking.cancel(session, cat, first.appointment.id, ann, later)
    async with app.transaction() as session:
        offer = await booking.pending_offer(session, cat_, later)
        assert offer is not None and offer.starts_at == mon1
        assert offer.hold_until == later + booking.OFFER_FOR
        assert await booking.pending_offer(session, dan, later) is None
        assert await booking.free_slots(session, cat, weekly, later) == {}
        messages = (
            await session.scalars(select(OutboxMessage).where(OutboxMessage.kind != "reminder"))
        ).all()
    assert [(m.person_id, m.kind) for m in messages] == [(cat_, "waitlist")]
    assert "waiting list" in messages[0].body[0]["text"]

    # The first declines: the next in line is offered the same place.
    async with app.transaction() as session:
        assert await booking.decline_offer(session, cat, offer.id, cat_, later)
        offer_d = await booking.pending_offer(session, dan, later)
    assert offer_d is not None and offer_d.starts_at == mon1

    # Nobody answers in time: the offer lapses and the place is free for everyone.
    async with app.transaction() as session:
        await booking.sweep(session, cat, later + booking.OFFER_FOR)
        free = await booking.free_slots(session, cat, weekly, later + booking.OFFER_FOR)
        states = dict(
            (await session.execute(select(WaitlistEntry.person_id, WaitlistEntry.state))).all()
        )
    assert [s.starts_at for s in free[mon1.date()]] == [mon1]
    assert states == {cat_: "declined", dan: "lapsed"}
    assert (await book(app, cat, eve, mon1, later + booking.OFFER_FOR)).outcome is Outcome.BOOKED


async def test_accepting_an_offer_books_it(app: Database) -> None:
    weekly = office(schedule={"mon": "09:00-09:30"})
    cat = catalog(weekly)
    ann, ben = await make_people(app, 2)
    mon1 = kyiv(2026, 11, 30, 9)
    first = await book(app, cat, ann, mon1)
    assert first.appointment is not None
    async with app.transaction() as session:
        await booking.join_waitlist(
            session, person_id=ben, office_id=weekly.id, service_id="idp", now=NOW
        )
        await booking.cancel(session, cat, first.appointment.id, ann, NOW)
    async with app.transaction() as session:
        offer = await booking.pending_offer(session, ben, NOW)
        assert offer is not None
        result = await booking.confirm(session, cat, offer.id, ben, NOW + timedelta(minutes=30))
        state = await session.scalar(select(WaitlistEntry.state))
    assert result.outcome is Outcome.BOOKED and state == "taken"


async def test_staff_list_for_a_day(app: Database) -> None:
    cat = catalog(office(seats=2))
    people = await make_people(app, 3)
    await book(app, cat, people[0], THU_930)
    await book(app, cat, people[1], THU_9)
    await book(app, cat, people[2], kyiv(2026, 11, 27, 9))
    async with app.transaction() as session:
        rows = await booking.day_list(session, "test-office", THU_9.date())
    assert [r.starts_at for r in rows] == [THU_9, THU_930]


async def test_one_day_of_free_times_is_that_day_of_the_whole_window(app: Database) -> None:
    """The time screen counts places over its day alone: the same free times."""
    cat = catalog(office(seats=2))
    o = cat.offices["test-office"]
    alice, bob, cleo = await make_people(app, 3)
    await book(app, cat, alice, THU_9)
    await book(app, cat, bob, THU_9)  # full
    await book(app, cat, cleo, THU_930)  # one seat left
    async with app.transaction() as session:
        whole = await booking.free_slots(session, cat, o, NOW)
        for day in whole:
            assert await booking.free_slots(session, cat, o, NOW, day=day) == {day: whole[day]}
        outside = NOW.date() + timedelta(days=booking.BOOKING_DAYS)
        assert await booking.free_slots(session, cat, o, NOW, day=outside) == {}
    thursday = [s.starts_at for s in whole[THU_9.date()]]
    assert THU_9 not in thursday and THU_930 in thursday


async def test_an_appointment_is_read_again_unless_this_transaction_wrote_it(
    app: Database,
) -> None:
    """Another process may change an appointment between two reads (a sweep, staff);
    one this transaction inserted or updated nobody else can change before it commits."""
    cat = catalog()
    [alice] = await make_people(app, 1)
    reads: list[str] = []

    def before(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.startswith("SELECT appointments.id, appointments.code"):
            reads.append(statement)

    event.listen(app.engine.sync_engine, "before_cursor_execute", before)
    try:
        async with app.transaction() as session:
            held = await booking.hold(
                session,
                cat,
                person_id=alice,
                office_id="test-office",
                service_id="idp",
                starts_at=THU_9,
                now=NOW,
            )
            assert held is not None
            del held  # the session keeps its objects weakly: the copy must not depend on it
            reads.clear()
            [held_id] = (await session.scalars(select(Appointment.id))).all()
            again = await booking.get_appointment(session, held_id, alice)
            assert again is not None and again.state == "held" and reads == []
            confirmed = await booking.confirm(session, cat, held_id, alice, NOW)
            assert confirmed.outcome is Outcome.BOOKED
            reads.clear()
            booked = await booking.get_appointment(session, held_id, alice)
            assert booked is not None and booked.state == "booked" and reads == []
            # An update's savepoint rolled back: the session forgets its objects.
            session.expunge_all()
            assert await booking.get_appointment(session, held_id, alice) is not None
            assert len(reads) == 1
        reads.clear()
        async with app.transaction() as session:  # a later transaction reads it again
            assert await booking.get_appointment(session, held_id, alice) is not None
            assert len(reads) == 1
    finally:
        event.remove(app.engine.sync_engine, "before_cursor_execute", before)


async def test_a_booking_ends_waiting_for_the_same_service_only(app: Database) -> None:
    cat = catalog(office(), office(id="other-office"))
    alice, bob = await make_people(app, 2)
    async with app.transaction() as session:
        for office_id, service_id in (("other-office", "idp"), ("other-office", "subsidy")):
            await booking.join_waitlist(
                session, person_id=alice, office_id=office_id, service_id=service_id, now=NOW
            )
    assert (await book(app, cat, alice, THU_9)).outcome is Outcome.BOOKED  # idp
    async with app.transaction() as session:
        states = dict(
            (await session.execute(select(WaitlistEntry.service_id, WaitlistEntry.state))).all()
        )
    assert states == {"idp": "left", "subsidy": "waiting"}
    # Nothing waiting: a booking changes no entry (and sends no UPDATE for them).
    assert (await book(app, cat, bob, THU_930)).outcome is Outcome.BOOKED


async def test_a_hold_in_a_busy_slot_costs_no_statement_per_seat_taken(app: Database) -> None:
    """The seats taken are read once and the free one inserted: trying seat after seat
    cost a round trip per seat someone already had."""
    cat = catalog(office(seats=6))
    people = await make_people(app, 6)
    sent: list[str] = []

    def before(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        sent.append(statement)

    counts = []
    for person in people:
        sent.clear()
        event.listen(app.engine.sync_engine, "before_cursor_execute", before)
        try:
            outcome = await book(app, cat, person, THU_9, NOW)
        finally:
            event.remove(app.engine.sync_engine, "before_cursor_execute", before)
        assert outcome.outcome is Outcome.BOOKED
        counts.append(sum("slot_seats" in s for s in sent))
    async with app.transaction() as session:
        seats = (await session.scalars(select(SlotSeat.seat_no).order_by(SlotSeat.seat_no))).all()
    assert list(seats) == [1, 2, 3, 4, 5, 6]
    assert counts == [counts[0]] * len(people), counts
