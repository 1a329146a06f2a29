"""Reminders are outbox rows written with the booking, and sent by the worker when due.

No scheduler is involved: booking, moving and cancelling change the rows in
their own transaction, and the worker (with a controlled clock) sends a row
once its `not_before` has come.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.app import App, build_app
from bot.services.booking import appointments as booking
from bot.services.booking import reminders
from bot.services.booking.jobs import recompute_reminders
from bot.services.booking.reminders import catalog_of, due_times
from storage.models import OutboxMessage
from storage.models.booking import BOOKED, Appointment
from storage.repositories import People
from tests.booking_support import book, kyiv, make_people
from tests.broadcast_support import FakePlatform, RunningWorker, wait_until
from tests.conftest import Clock, make_settings

OFFICE = "kyiv-cnap-obolon"  # demo data: Thursday 09:00–18:00, 20-minute slots
THU_10 = kyiv(2026, 11, 26, 10)
FRI_10 = kyiv(2026, 11, 27, 10)


@pytest.fixture
async def app(db_url: str, clock: Clock) -> AsyncIterator[App]:
    app = await build_app(make_settings(db_url), migrate=False, clock=clock)
    yield app
    await app.close()


async def outbox(app: App, **where: object) -> list[OutboxMessage]:
    async with app.db.transaction() as session:
        statement = select(OutboxMessage).order_by(OutboxMessage.id)
        for name, value in where.items():
            statement = statement.where(getattr(OutboxMessage, name) == value)
        return list((await session.scalars(statement)).all())


async def planned(app: App) -> dict[str, object]:
    """The pending reminder rows: dedupe key → when they are due."""
    return {
        row.dedupe_key: row.not_before
        for row in await outbox(app, kind="reminder", state="pending")
    }


async def test_booking_moving_and_cancelling_write_the_reminder_rows(
    app: App, clock: Clock
) -> None:
    cat = catalog_of(app.runtime)
    (person,) = await make_people(app.db, 1)
    first = await book(app.db, cat, person, THU_10, clock(), office_id=OFFICE)
    assert first.appointment is not None
    thu = first.appointment.id
    assert await planned(app) == {
        f"reminder:{thu}:24:{THU_10.isoformat()}": THU_10 - timedelta(hours=24),
        f"reminder:{thu}:2:{THU_10.isoformat()}": THU_10 - timedelta(hours=2),
    }

    moved = await book(app.db, cat, person, FRI_10, clock(), office_id=OFFICE, replaces_id=thu)
    assert moved.appointment is not None and moved.moved is not None
    fri = moved.appointment.id
    assert await planned(app) == {
        f"reminder:{fri}:24:{FRI_10.isoformat()}": FRI_10 - timedelta(hours=24),
        f"reminder:{fri}:2:{FRI_10.isoformat()}": FRI_10 - timedelta(hours=2),
    }, "the move took the old reminders away and planned the new ones"

    async with app.db.transaction() as session:
        assert await booking.cancel(session, cat, fri, person, clock()) is not None
    assert await planned(app) == {}


async def test_reminders_go_out_when_due_once_in_the_language_of_the_day(
    app: App, clock: Clock
) -> None:
    (person,) = await make_people(app.db, 1, locale="uk")
    result = await book(app.db, catalog_of(app.runtime), person, THU_10, clock(), office_id=OFFICE)
    assert result.appointment is not None
    telegram = FakePlatform("test")
    app.messengers.add(telegram)
    async with RunningWorker(app) as worker:
        await worker.idle()
        assert telegram.sends == 0, "nothing before its time"

        clock.current = THU_10 - timedelta(hours=24)
        worker.wake()
        await wait_until(lambda: telegram.sends == 1)
        async with app.db.transaction() as session:
            found = await People(session).get(person)
            assert found is not None
            found.locale = "en"  # switched language before the second reminder
        clock.current = THU_10 - timedelta(hours=2)
        worker.wake()
        await wait_until(lambda: telegram.sends == 2)
        await worker.idle()
    (first, second) = next(iter(telegram.received.values()))
    assert "завтра" in first and result.appointment.code in first
    assert "in 2 hours" in second
    assert [row.state for row in await outbox(app, kind="reminder")] == ["sent", "sent"]


async def test_a_reminder_after_the_appointment_began_is_not_sent(app: App, clock: Clock) -> None:
    (person,) = await make_people(app.db, 1)
    await book(app.db, catalog_of(app.runtime), person, THU_10, clock(), office_id=OFFICE)
    telegram = FakePlatform("test")
    app.messengers.add(telegram)
    clock.current = THU_10 + timedelta(minutes=5)  # the bot was down over both moments
    async with RunningWorker(app) as worker:
        await worker.idle()
    assert telegram.sends == 0
    rows = await outbox(app, kind="reminder")
    assert [(row.state, row.reason) for row in rows] == [("skipped", "expired")] * 2


async def test_start_recomputes_reminders_from_the_appointments(app: App, clock: Clock) -> None:
    """Appointments booked before reminders were rows (or by a process that had none)."""
    cat = catalog_of(app.runtime)
    (person,) = await make_people(app.db, 1)
    soon = kyiv(2026, 11, 24, 15)  # today: less than 24 hours away
    async with app.db.transaction() as session:
        session.add(
            Appointment(
                code="OLDJOB01",
                person_id=person,
                office_id=OFFICE,
                service_id="idp",
                starts_at=soon,
                ends_at=soon + timedelta(minutes=20),
                state=BOOKED,
                created_at=clock() - timedelta(days=2),
            )
        )
        session.add(  # a reminder nobody needs any more (its appointment is gone)
            OutboxMessage(
                person_id=person,
                kind="reminder",
                dedupe_key=f"reminder:999:2:{THU_10.isoformat()}",
                body=[{"text": "x"}],
                not_before=THU_10,
            )
        )
    now, locale = clock(), app.settings.default_locale
    assert await recompute_reminders(app.db, cat, now, locale) == 1
    keys = list(await planned(app))
    assert keys == [f"reminder:{keys and keys[0].split(':')[1]}:2:{soon.isoformat()}"]
    assert await recompute_reminders(app.db, cat, now, locale) == 0, "idempotent"
    assert len(await planned(app)) == 1


def test_a_reminder_missed_while_the_bot_was_down_goes_late_not_never() -> None:
    starts = THU_10
    booked = starts - timedelta(days=3)
    # Down over the 2-hour mark, back 20 minutes later: that one goes now.
    now = starts - timedelta(hours=1, minutes=40)
    assert due_times(starts, now, booked_at=booked) == [(2, now)]
    # Back too late for it to help (over its grace): nothing.
    assert due_times(starts, starts - timedelta(minutes=15), booked_at=booked) == []
    # Booked after that moment: no "in 2 hours" message for an appointment in one hour.
    late_booking = starts - timedelta(hours=1)
    assert due_times(starts, late_booking, booked_at=late_booking) == []
    # Both still ahead.
    early = starts - timedelta(days=2)
    assert due_times(starts, early, booked_at=booked) == [
        (24, starts - timedelta(hours=24)),
        (2, starts - timedelta(hours=2)),
    ]
    assert reminders.REMINDER_HOURS == (24, 2)
