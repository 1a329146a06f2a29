"""Helpers for the booking tests: a small office catalog, people, a booking in one call."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from bot.services.booking import appointments as booking
from bot.services.booking.model import Holiday, Office, OfficeCatalog, Service, Text
from storage.db import Database
from storage.models.booking import Appointment
from storage.repositories import People

# Tuesday 24 November 2026, 12:00 in Kyiv (the conftest clock's default).
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def office(**overrides: Any) -> Office:
    values: dict[str, Any] = {
        "id": "test-office",
        "kind": "cnap",
        "name": {"uk": "Тестовий ЦНАП", "en": "Test ASC"},
        "address": {"uk": "вул. Тестова, 1", "en": "1 Test St"},
        "oblast": "UA80000000000093317",
        "hromada": {"uk": "Київська міська громада", "en": "Kyiv city hromada"},
        "location": {"lat": 50.45, "lon": 30.52},
        "phone": "+380 44 000 00 00",
        "services": ["idp", "subsidy"],
        "slot_minutes": 30,
        "seats": 1,
        "schedule": {
            "mon": {"hours": "09:00-12:00", "breaks": ["10:00-10:30"]},
            "tue": "09:00-12:00",
            "wed": "09:00-12:00",
            "thu": "09:00-12:00",
            "fri": "09:00-12:00",
        },
    }
    values.update(overrides)
    return Office.model_validate(values)


def catalog(*offices: Office, holidays: dict[date, str] | None = None) -> OfficeCatalog:
    services = {
        sid: Service(
            id=sid,
            name=Text(uk=f"Послуга {sid}", en=f"Service {sid}"),
            bring=Text(uk="паспорт", en="passport"),
        )
        for sid in ("idp", "subsidy", "pension")
    }
    return OfficeCatalog(
        offices={o.id: o for o in (offices or (office(),))},
        services=services,
        oblasts={},
        holidays={
            day: Holiday(date=day, name=Text(uk=name, en=name))
            for day, name in (holidays or {}).items()
        },
    )


def kyiv(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A Kyiv wall-clock time as UTC."""
    from bot.services.booking.slots import local_instant

    instant = local_instant(date(year, month, day), time(hour, minute))
    assert instant is not None
    return instant


async def make_people(db: Database, count: int, locale: str = "en") -> list[int]:
    ids = []
    async with db.transaction() as session:
        people = People(session)
        for n in range(count):
            person, _ = await people.get_or_register("test", f"p{n}")
            person.locale = locale
            ids.append(person.id)
    return ids


async def book(
    db: Database,
    cat: OfficeCatalog,
    person_id: int,
    starts_at: datetime,
    now: datetime = NOW,
    *,
    service_id: str = "idp",
    office_id: str = "test-office",
    replaces_id: int | None = None,
) -> booking.Confirmation:
    """Hold and confirm in one transaction, as a person pressing fast would."""
    async with db.transaction() as session:
        held = await booking.hold(
            session,
            cat,
            person_id=person_id,
            office_id=office_id,
            service_id=service_id,
            starts_at=starts_at,
            now=now,
            replaces_id=replaces_id,
        )
        if held is None:
            return booking.Confirmation(booking.Outcome.GONE)
        return await booking.confirm(session, cat, held.id, person_id, now)


async def appointment(db: Database, appointment_id: int) -> Appointment:
    async with db.transaction() as session:
        found = await session.get(Appointment, appointment_id)
        assert found is not None
        return found
