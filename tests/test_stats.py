"""`python -m bot stats` and the staff Statistics: numbers checked against a seeded database."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import App, main
from bot.services.stats.counting import Period, collect
from handlers.conversation import Conversation
from storage.db import Database
from storage.models import OutboxMessage, Person, UsageEvent
from storage.models.attendance import NoShow
from storage.models.booking import Appointment
from storage.models.broadcast import Announcement
from storage.models.cases import Case
from storage.models.viber import ViberReceipt
from tests.conftest import onboard

T0 = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
LATER = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _person(n: int, platform: str, locale: str | None, at: datetime) -> Person:
    return Person(
        platform=platform,
        platform_user_id=f"u{n}",
        locale=locale,
        created_at=at,
        last_seen_at=at,
        reachable=True,
        subscribed=True,
        announcements=True,
    )


async def seed(session: AsyncSession) -> list[Person]:
    people = [
        _person(1, "telegram", "uk", T0),
        _person(2, "telegram", "en", T0),
        _person(3, "viber", "uk", T0),
        _person(4, "viber", None, LATER),
        _person(5, "telegram", "uk", LATER),
    ]
    session.add_all(people)
    await session.flush()
    events = [
        ("started", "eligibility", T0),
        ("started", "eligibility", T0),
        ("started", "eligibility", LATER),
        ("completed", "eligibility", T0),
        ("completed", "eligibility", LATER),
        ("eligibility_result", "housing_subsidy", T0),
        ("eligibility_result", "idp_living_allowance", T0),
        ("eligibility_result", "housing_subsidy", LATER),
        ("eligibility_result", "none", LATER),
        ("started", "status", T0),
        ("completed", "status", T0),
        ("started", "booking", T0),
        ("started", "booking", LATER),
        ("started", "cases", T0),
    ]
    session.add_all(UsageEvent(metric=m, key=k, at=at) for m, k, at in events)
    for i, (office, state, at) in enumerate(
        [
            ("kyiv-1", "booked", T0),
            ("kyiv-1", "cancelled", T0),
            ("kyiv-1", "booked", LATER),
            ("lviv-2", "moved", T0),
            ("lviv-2", "expired", T0),  # a hold nobody confirmed: not a booking
        ]
    ):
        session.add(
            Appointment(
                code=f"A{i}",
                person_id=people[i].id,
                office_id=office,
                service_id="s",
                starts_at=at + timedelta(days=3),
                ends_at=at + timedelta(days=3, minutes=15),
                state=state,
                created_at=at,
                updated_at=at,
            )
        )
    await session.flush()
    first = await session.scalar(select(Appointment).where(Appointment.code == "A0"))
    assert first is not None
    session.add(NoShow(appointment_id=first.id, marked_at=LATER))
    announcement = Announcement(author="cli", text_uk="x", state="done", created_at=T0)
    session.add(announcement)
    await session.flush()
    outcomes = [
        (people[0], "sent", None),
        (people[1], "blocked", None),
        (people[2], "sent", "7001"),
        (people[3], "failed", None),
        (people[4], "pending", None),
    ]
    for person, state, ref in outcomes:
        session.add(
            OutboxMessage(
                person_id=person.id,
                kind="announcement",
                dedupe_key=f"a:{person.id}",
                announcement_id=announcement.id,
                body=[],
                state=state,
                platform_ref=ref,
                not_before=T0,
                created_at=T0,
            )
        )
    # Viber: delivered, then seen by the same person (counted once), another token ignored.
    session.add_all(
        [
            ViberReceipt(message_token="7001", event="delivered", receiver_key="k3", at=T0),
            ViberReceipt(message_token="7001", event="seen", receiver_key="k3", at=T0),
            ViberReceipt(message_token="9999", event="delivered", receiver_key="k9", at=T0),
        ]
    )
    hour = timedelta(hours=1)
    for i, (state, answered, closed, rating, at) in enumerate(
        [
            ("closed", 2 * hour, 5 * hour, 5, T0),
            ("closed", 4 * hour, 24 * hour, 3, T0),
            ("closed", None, 1 * hour, None, T0),  # the person closed it before any answer
            ("taken", 1 * hour, None, None, LATER),
            ("open", None, None, None, LATER),
        ]
    ):
        session.add(
            Case(
                code=f"C{i}",
                person_id=people[i].id,
                topic="other",
                state=state,
                context={},
                created_at=at,
                updated_at=at,
                first_answer_at=at + answered if answered else None,
                closed_at=at + closed if closed else None,
                rating=rating,
            )
        )
    return people


async def test_the_numbers_match_the_seeded_database(app: App) -> None:
    async with app.db.transaction() as session:
        await seed(session)
    async with app.db.transaction() as session:
        everything = await collect(session, Period())
        november_10 = await collect(session, Period(T0, T0 + timedelta(days=1)))
    assert everything["people"] == {
        "total": 5,
        "by_platform": {"telegram": 3, "viber": 2},
        "by_language": {"en": 1, "uk": 3, "unknown": 1},
    }
    assert everything["funnel"] == {
        "eligibility": {"started": 3, "completed": 2},
        "status": {"started": 1, "completed": 1},
        "booking": {"started": 2, "completed": 4},
        "cases": {"started": 1, "completed": 5},
    }
    assert everything["eligibility_results"] == {
        "housing_subsidy": 2,
        "idp_living_allowance": 1,
        "none": 1,
    }
    assert everything["bookings"] == {
        "kyiv-1": {"booked": 2, "cancelled": 1, "moved": 0, "no_shows": 1},
        "lviv-2": {"booked": 0, "cancelled": 0, "moved": 1, "no_shows": 0},
    }
    assert everything["announcements"] == {
        "announcements": 1,
        "messages": 5,
        "sent": 2,
        "delivered": 2,
        "failed": 1,
        "blocked": 1,
        "skipped": 0,
        "cancelled": 0,
        "pending": 1,
    }
    assert everything["cases"] == {
        "opened": 5,
        "open_now": 2,
        "answered": 3,
        "closed": 3,
        "median_first_answer_seconds": 7200.0,  # 1 h, 2 h, 4 h
        "median_close_seconds": 5 * 3600.0,  # 1 h, 5 h, 24 h
        "satisfaction": {"1": 0, "2": 0, "3": 1, "4": 0, "5": 1},
        "rated": 2,
        "average_rating": 4.0,
    }
    # Only 10 November.
    assert november_10["people"]["total"] == 3
    assert november_10["funnel"]["eligibility"] == {"started": 2, "completed": 1}
    assert november_10["cases"]["opened"] == 3
    assert november_10["cases"]["open_now"] == 2  # always "now"
    assert november_10["bookings"]["kyiv-1"]["booked"] == 1


async def _seed_for_cli(url: str) -> None:
    db = Database(url)
    try:
        async with db.transaction() as session:
            people = await seed(session)
            people[0].platform_user_id = "380671234567"
    finally:
        await db.dispose()


def test_the_command_prints_text_and_json_without_personal_data(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(_seed_for_cli(sqlite_url))
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("DEFAULT_LOCALE", "en")
    assert main(["stats", "--json", "--from", "2026-11-10", "--to", "2026-11-10"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["cases"]["opened"] == 3 and printed["people"]["total"] == 3
    assert main(["stats"]) == 0
    text = capsys.readouterr().out
    assert "Cases: opened 5, open now 2, answered 3, closed 3" in text
    assert "Median time to the first answer: 2 hours; to closing: 5 hours" in text
    assert "Satisfaction: 1★ 0 2★ 0 3★ 1 4★ 0 5★ 1 (rated 2, average 4.0)" in text
    assert "380671234567" not in text and "u2" not in text
    assert main(["stats", "--from", "2026-11-30", "--to", "2026-11-01"]) == 2
    assert "--to is before --from" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["stats", "--from", "yesterday"])


async def test_dialogs_count_their_starts_and_results(sqlite_app: App) -> None:
    chat = Conversation(sqlite_app.engine, user_id="1")
    await onboard(chat)
    await chat.presses("Check eligibility")
    await chat.says("menu")
    await chat.presses("application status")
    async with sqlite_app.db.transaction() as session:
        funnel = (await collect(session, Period()))["funnel"]
    assert funnel["eligibility"]["started"] == 1 and funnel["status"]["started"] == 1
    assert funnel["eligibility"]["completed"] == 0


def test_offices_mark_no_shows_for_the_statistics(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(_seed_for_cli(sqlite_url))
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    assert main(["no-show", "a2"]) == 0  # kyiv-1, booked, already past
    assert main(["no-show", "A1"]) == 2  # cancelled: nobody was expected
    assert "not a past booked appointment: A1" in capsys.readouterr().err
    assert main(["no-show", "ZZZ"]) == 2
    capsys.readouterr()
    assert main(["stats", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["bookings"]["kyiv-1"]["no_shows"] == 2
    assert main(["no-show", "--undo", "A0", "A2"]) == 0
    capsys.readouterr()
    assert main(["stats", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["bookings"]["kyiv-1"]["no_shows"] == 0
