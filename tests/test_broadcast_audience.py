"""Audiences, opt-out and the Viber cost estimate, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import insert, select, update

from bot.app import App, build_app
from bot.services.broadcast import Audience, AudienceError, reach
from bot.services.broadcast.audience import recipients
from storage.models import Person
from storage.models.status import Application, Follow
from tests.broadcast_support import add_people
from tests.conftest import Clock, make_settings

KHARKIV = "UA63000000000041885"


@pytest.fixture
async def app(db_url: str, clock: Clock) -> AsyncIterator[App]:
    application = await build_app(make_settings(db_url), migrate=False, clock=clock)
    yield application
    await application.close()


async def population(app: App) -> None:
    await add_people(app, 3, first=1, locale="uk", region=KHARKIV)  # ids 1-3
    await add_people(app, 2, first=10, locale="en")  # 4-5
    await add_people(app, 2, first=20, locale=None)  # 6-7: never chose, default uk
    await add_people(app, 3, platform="viber", first=100, locale="uk", region=KHARKIV)  # 8-10
    await add_people(app, 1, first=30, consented=False)  # 11: never accepted the notice
    async with app.db.transaction() as session:
        await session.execute(update(Person).where(Person.id == 1).values(announcements=False))
        await session.execute(update(Person).where(Person.id == 4).values(reachable=False))
        await session.execute(update(Person).where(Person.id == 8).values(subscribed=False))


async def ids_of(app: App, code: str) -> list[int]:
    async with app.db.transaction() as session:
        rows = await session.execute(recipients(Audience.parse(code), "uk"))
        return [person_id for person_id, _ in rows]


async def test_audiences_never_include_who_opted_out_blocked_or_never_consented(
    app: App,
) -> None:
    await population(app)
    assert await ids_of(app, "all") == [2, 3, 5, 6, 7, 9, 10]
    assert await ids_of(app, "lang:uk") == [2, 3, 6, 7, 9, 10]
    assert await ids_of(app, "lang:en") == [5]
    assert await ids_of(app, "platform:telegram") == [2, 3, 5, 6, 7]
    assert await ids_of(app, "platform:viber") == [9, 10]
    assert await ids_of(app, f"region:{KHARKIV.lower()}") == [2, 3, 9, 10]
    assert await ids_of(app, "following") == []


async def test_following_means_following_at_least_one_application(app: App) -> None:
    await population(app)
    now = datetime(2026, 11, 20, tzinfo=UTC)
    async with app.db.transaction() as session:
        await session.execute(
            insert(Application).values(
                id=1,
                number="VPO2026000123",
                printed_number="VPO-2026-000123",
                birth_date=date(1984, 3, 15),
                status="in_review",
                updated_at=now,
                note="",
                source="import",
                checked_at=now,
            )
        )
        for person_id in (1, 3, 9):
            session.add(Follow(person_id=person_id, application_id=1, created_at=now))
    assert await ids_of(app, "following") == [3, 9]  # 1 switched announcements off


async def test_reach_counts_platforms_and_prices_viber_outside_the_free_window(
    app: App, clock: Clock
) -> None:
    await population(app)
    async with app.db.transaction() as session:
        await session.execute(
            update(Person).where(Person.id == 9).values(last_seen_at=clock() - timedelta(hours=3))
        )
        estimate = await reach(
            session, Audience.parse("all"), default_locale="uk", viber_price=0.0196, now=clock()
        )
        assert (await session.scalar(select(Person.platform).where(Person.id == 10))) == "viber"
    assert estimate.per_platform == {"telegram": 5, "viber": 2}
    assert (estimate.viber_free, estimate.viber_billable, estimate.viber_cost) == (1, 1, 0.02)


@pytest.mark.parametrize(
    "code", ["everyone", "lang:de", "platform:whatsapp", "region:", "all:x", "following:1"]
)
def test_unknown_audiences_are_refused(code: str) -> None:
    with pytest.raises(AudienceError):
        Audience.parse(code)
