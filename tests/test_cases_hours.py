"""When specialists work, and what the person is told to expect."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.app import App
from bot.i18n import KYIV
from bot.resources import Resources
from bot.services.cases import service
from bot.services.cases.data import CasesData
from bot.services.cases.hours import expectation, is_open, next_opening
from storage.repositories import People
from tests.cases_support import ask, citizen
from tests.conftest import Clock


def data(app: App) -> CasesData:
    found = Resources.of(app.runtime.resources).cases
    assert isinstance(found, CasesData)
    return found


def kyiv(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=KYIV)


async def test_working_hours_and_the_next_opening(sqlite_app: App) -> None:
    hours = data(sqlite_app).working_hours
    assert is_open(hours, kyiv(2026, 11, 24, 9, 0))  # Tuesday
    assert not is_open(hours, kyiv(2026, 11, 24, 18, 0))
    assert next_opening(hours, kyiv(2026, 11, 24, 18, 30)) == kyiv(2026, 11, 25, 9, 0)
    assert next_opening(hours, kyiv(2026, 11, 27, 20, 0)) == kyiv(2026, 11, 30, 9, 0)  # Fri → Mon
    assert next_opening(hours, kyiv(2026, 11, 28, 8, 0)) == kyiv(2026, 11, 30, 9, 0)


async def test_outside_working_hours_the_person_is_told_when(
    sqlite_app: App, clock: Clock
) -> None:
    clock.current = kyiv(2026, 11, 28, 11, 0).astimezone(UTC)  # Saturday
    person = await citizen(sqlite_app)
    await ask(person, "Weekend question")
    person.expect(
        "outside working hours", "specialists will start on it from", "30 November 2026, 09:00"
    )


async def test_the_expectation_is_measured_once_enough_cases_were_answered(
    sqlite_app: App, clock: Clock
) -> None:
    cases = data(sqlite_app)
    async with sqlite_app.db.transaction() as session:
        person, _ = await People(session).get_or_register("test", "1")
        assert not (await expectation(session, cases, clock())).measured
        for i in range(cases.measured_after):
            case = await service.open_case(session, person, topic="other", text="q", now=clock())
            case.first_answer_at = clock() + timedelta(hours=1 + i % 3)  # 1, 2 or 3 hours
            case.state = "closed"
        found = await expectation(session, cases, clock())
    assert found.measured and found.typical == timedelta(hours=2)
