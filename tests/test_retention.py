"""The privacy notice's promise: data is erased 12 months after the last message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.app import App
from bot.lifecycle import background_of
from bot.scheduler import build_scheduler
from bot.services.months import months_before
from bot.services.retention import JOB_ID, apply_retention, retention_schedule
from storage.models import DialogStateRow, ProcessedEvent
from storage.repositories import AuditLog, DialogStates, People, StoredState
from tests.conftest import Clock

NOW = datetime(2026, 11, 24, 3, 40, tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "months", "expected"),
    [
        (datetime(2026, 11, 24, 3, 40, tzinfo=UTC), 12, datetime(2025, 11, 24, 3, 40, tzinfo=UTC)),
        (datetime(2026, 3, 31, tzinfo=UTC), 1, datetime(2026, 2, 28, tzinfo=UTC)),
        (datetime(2028, 3, 31, tzinfo=UTC), 1, datetime(2028, 2, 29, tzinfo=UTC)),
        (datetime(2026, 1, 15, tzinfo=UTC), 13, datetime(2024, 12, 15, tzinfo=UTC)),
    ],
)
def test_months_before(moment: datetime, months: int, expected: datetime) -> None:
    assert months_before(moment, months) == expected


async def add_person(app: App, user_id: str, last_seen: datetime) -> int:
    async with app.db.transaction() as session:
        person, _ = await People(session).get_or_register("telegram", user_id)
        await People(session).touch(person, at=last_seen)
        await session.flush()
        await DialogStates(session).save(person.id, StoredState(dialog="menu", step="main"))
        return person.id


async def test_people_silent_for_twelve_months_are_erased(app: App) -> None:
    silent = await add_person(app, "silent", NOW - timedelta(days=366))
    recent = await add_person(app, "recent", NOW - timedelta(days=300))
    async with app.db.transaction() as session:
        session.add(
            ProcessedEvent(platform="telegram", event_id="old", at=NOW - timedelta(days=8))
        )
        session.add(
            ProcessedEvent(platform="telegram", event_id="new", at=NOW - timedelta(days=1))
        )

    async with app.db.transaction() as session:
        assert await apply_retention(session, NOW, known=app.runtime.personal_data) == 1
    async with app.db.transaction() as session:  # a second run (another process) is harmless
        assert await apply_retention(session, NOW, known=app.runtime.personal_data) == 0

    async with app.db.transaction() as session:
        assert await People(session).get(silent) is None
        assert await People(session).get(recent) is not None
        states = await session.scalar(select(func.count()).select_from(DialogStateRow))
        assert states == 1
        erased = await AuditLog(session).recent(action="person.erased")
        assert [entry.actor for entry in erased] == [f"person:{silent}"]
        kept = (await session.scalars(select(ProcessedEvent.event_id))).all()
        assert kept == ["new"]


async def test_retention_works_in_batches(app: App) -> None:
    ids = [await add_person(app, f"p{n}", NOW - timedelta(days=400 + n)) for n in range(5)]
    async with app.db.transaction() as session:
        assert await apply_retention(session, NOW, batch=2, known=app.runtime.personal_data) == 2
    async with app.db.transaction() as session:
        # the longest silent go first
        assert list(await People(session).all_ids()) == ids[:3]


async def test_the_daily_job_is_scheduled_and_erases(sqlite_app: App, clock: Clock) -> None:
    clock.current = NOW
    await add_person(sqlite_app, "silent", NOW - timedelta(days=400))
    scheduler = build_scheduler()
    scheduler.start(paused=True)
    background = background_of(sqlite_app, scheduler)
    try:
        await retention_schedule(background)
        await retention_schedule(background)  # a restart of the services: still one job
        job = scheduler.get_job(JOB_ID)
        assert job is not None and "cron" in str(job.trigger)
        assert len(scheduler.get_jobs()) == 1
        await job.func(*job.args)  # what the scheduler runs at 03:40
    finally:
        scheduler.shutdown(wait=False)
    async with sqlite_app.db.transaction() as session:
        assert await People(session).count() == 0
