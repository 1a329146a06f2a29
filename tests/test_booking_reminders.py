"""Reminders through APScheduler's persistent job store, with a controlled clock.

The scheduler is started paused, so nothing fires on its own: a test plays the
part of the scheduler by advancing the clock and calling the stored job's
function with its stored arguments.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import App, build_app
from bot.scheduler import build_scheduler, set_current_app
from bot.services.booking import appointments as booking
from bot.services.booking import reminders
from bot.services.booking.reminders import catalog_of, job_id, sync_reminders
from storage.models import OutboxMessage
from tests.booking_support import book, kyiv, make_people
from tests.conftest import Clock, make_settings

OFFICE = "kyiv-cnap-obolon"  # demo data: Thursday 09:00–18:00, 20-minute slots
THU_10 = kyiv(2026, 11, 26, 10)
FRI_10 = kyiv(2026, 11, 27, 10)


async def start(url: str, clock: Clock) -> App:
    """An App with a paused scheduler on `url`, as `run` would have after a (re)start."""
    app = await build_app(make_settings(url), migrate=False, clock=clock)
    scheduler = build_scheduler(url)
    scheduler.start(paused=True)
    app.scheduler = scheduler
    set_current_app(app)
    return app


async def stop(app: App) -> None:
    app.scheduler.shutdown(wait=False)
    set_current_app(None)
    await app.close()


@pytest.fixture
async def running(db_url: str, clock: Clock) -> AsyncIterator[App]:
    app = await start(db_url, clock)
    yield app
    if app.scheduler.running:
        await stop(app)


def jobs(app: App) -> dict[str, Any]:
    return {job.id: job for job in app.scheduler.get_jobs()}


async def fire(app: App, job: Any) -> None:
    await job.func(*job.args)


async def outbox(app: App) -> list[OutboxMessage]:
    async with app.db.transaction() as session:
        return list(
            (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
        )


async def test_reminders_survive_a_restart_and_are_sent_once(
    running: App, db_url: str, clock: Clock
) -> None:
    app = running
    (person,) = await make_people(app.db, 1, locale="uk")
    result = await book(app.db, catalog_of(app.runtime), person, THU_10, clock(), office_id=OFFICE)
    assert result.appointment is not None
    appointment_id = result.appointment.id
    await sync_reminders(app, [appointment_id])
    planned = jobs(app)
    assert planned[job_id(appointment_id, 24)].next_run_time == THU_10 - timedelta(hours=24)
    assert planned[job_id(appointment_id, 2)].next_run_time == THU_10 - timedelta(hours=2)

    # Restart: a new process, a new App and scheduler on the same database.
    await stop(app)
    app = await start(db_url, clock)
    try:
        restored = jobs(app)
        day_before, two_hours = (
            restored[job_id(appointment_id, 24)],
            restored[job_id(appointment_id, 2)],
        )

        clock.current = THU_10 - timedelta(hours=24)
        await fire(app, day_before)
        await fire(app, day_before)  # fired twice (two processes): still one message
        clock.current = THU_10 - timedelta(hours=2)
        await fire(app, two_hours)

        sent = await outbox(app)
        assert [(m.kind, m.person_id) for m in sent] == [("reminder", person)] * 2
        iso = THU_10.isoformat()
        assert [m.dedupe_key for m in sent] == [
            f"reminder:{appointment_id}:24:{iso}",
            f"reminder:{appointment_id}:2:{iso}",
        ]
        assert "завтра" in sent[0].body[0]["title"]  # in the person's language
        assert "2 години" in sent[1].body[0]["title"]
        assert result.appointment.code in sent[0].body[0]["text"]
        # The 2-hour reminder is not held back by the night rule.
        assert sent[1].not_before == clock.current
    finally:
        await stop(app)


async def test_cancelled_and_moved_appointments_get_no_reminder(
    running: App, clock: Clock
) -> None:
    app = running
    cat = catalog_of(app.runtime)
    alice, bob = await make_people(app.db, 2)
    cancelled = await book(app.db, cat, alice, THU_10, clock(), office_id=OFFICE)
    first = await book(app.db, cat, bob, THU_10, clock(), office_id=OFFICE)
    assert cancelled.appointment is not None and first.appointment is not None
    await sync_reminders(app, [cancelled.appointment.id, first.appointment.id])
    stale = {key: job for key, job in jobs(app).items()}
    assert len(stale) == 4

    async with app.db.transaction() as session:
        await booking.cancel(session, cat, cancelled.appointment.id, alice, clock())
    moved = await book(
        app.db, cat, bob, FRI_10, clock(), office_id=OFFICE, replaces_id=first.appointment.id
    )
    assert moved.appointment is not None
    await sync_reminders(
        app, [cancelled.appointment.id, first.appointment.id, moved.appointment.id]
    )

    left = jobs(app)
    assert set(left) == {job_id(moved.appointment.id, 24), job_id(moved.appointment.id, 2)}
    # Even a job that fires anyway (removed too late, another process) sends nothing.
    clock.current = THU_10 - timedelta(hours=2)
    for job in stale.values():
        await fire(app, job)
    assert await outbox(app) == []
    clock.current = FRI_10 - timedelta(hours=24)
    await fire(app, left[job_id(moved.appointment.id, 24)])
    assert [m.dedupe_key.split(":")[1] for m in await outbox(app)] == [str(moved.appointment.id)]


async def test_start_reconciles_jobs_with_appointments(running: App, clock: Clock) -> None:
    app = running
    cat = catalog_of(app.runtime)
    (person,) = await make_people(app.db, 1)
    # Booked while no scheduler ran (say the process died right after the commit).
    soon = await book(app.db, cat, person, kyiv(2026, 11, 24, 15), clock(), office_id=OFFICE)
    assert soon.appointment is not None
    app.scheduler.add_job(
        reminders.send_reminder, "date", run_date=THU_10, args=[999, 2, THU_10.isoformat()],
        id=job_id(999, 2),
    )  # fmt: skip
    await reminders.booking_jobs(app)
    planned = jobs(app)
    # 15:00 today is less than 24 hours away: only the 2-hour reminder is still ahead.
    assert job_id(soon.appointment.id, 2) in planned
    assert job_id(soon.appointment.id, 24) not in planned
    assert job_id(999, 2) not in planned  # nobody needs it
    assert reminders.SWEEP_JOB_ID in planned
    assert await reminders.reconcile(app) == 0  # idempotent


def test_a_reminder_missed_while_the_bot_was_down_goes_late_not_never() -> None:
    from bot.services.booking.reminders import due_times

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
