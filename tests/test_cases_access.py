"""Who may touch a case, and the database's word on who holds it; retention; restarts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from bot.app import App, build_app
from bot.engine.globals import open_payload
from bot.services.cases import service
from bot.services.retention import retention_job
from storage.db import Database
from storage.models import AuditEntry
from storage.models.cases import Case, CaseMessage
from storage.repositories import People
from tests.broadcast_support import FakePlatform, RunningWorker, wait_until
from tests.cases_support import (
    STAFF_IDS,
    ask,
    citizen,
    open_cases_screen,
    outbox_for,
    staff,
)
from tests.conftest import Clock, make_settings


@pytest.fixture
async def cases_app(sqlite_url: str, clock: Clock) -> AsyncIterator[App]:
    app = await build_app(
        make_settings(sqlite_url, staff_ids=STAFF_IDS), migrate=False, clock=clock
    )
    yield app
    await app.close()


async def _a_case(db: Database, clock: Clock) -> int:
    async with db.transaction() as session:
        person, _ = await People(session).get_or_register("telegram", "77")
        case = await service.open_case(session, person, topic="other", text="Help", now=clock())
        return case.id


@pytest.mark.parametrize("rounds", [20])
async def test_two_staff_taking_at_once_one_gets_it(
    db_url: str, clock: Clock, rounds: int
) -> None:
    """Two connections (as two processes would have) race for the same case, many times."""
    staff_ids = frozenset({"telegram:1", "viber:2"})
    first, second = Database(db_url), Database(db_url)
    try:
        for _ in range(rounds):
            case_id = await _a_case(first, clock)

            async def take(db: Database, who: str, case_id: int = case_id) -> bool:
                async with db.transaction() as session:
                    return await service.take(session, case_id, who, staff_ids, clock())

            results = await asyncio.gather(take(first, "telegram:1"), take(second, "viber:2"))
            assert sorted(results) == [False, True]
            async with first.transaction() as session:
                case = await session.get(Case, case_id)
                assert case is not None and case.state == "taken"
                winner = "telegram:1" if results[0] else "viber:2"
                assert case.assignee == winner
                taken = await session.scalar(
                    select(func.count())
                    .select_from(AuditEntry)
                    .where(AuditEntry.action == "case.taken")
                )
            assert taken is not None
    finally:
        await first.dispose()
        await second.dispose()


async def test_non_staff_cannot_list_read_or_answer_cases(cases_app: App) -> None:
    person = await citizen(cases_app, "1")
    code = await ask(person, "Private question about my pension")
    # Everything a staff member is offered on the way to answering, collected live.
    worker = await staff(cases_app)
    payloads: set[str] = set()
    await open_cases_screen(worker)
    payloads |= {b.payload for r in worker.last for row in r.buttons for b in row}
    await worker.presses(code)
    payloads |= {b.payload for r in worker.last for row in r.buttons for b in row}
    await worker.presses("Take this case")
    payloads |= {b.payload for r in worker.last for row in r.buttons for b in row}
    for step in ("reply", "canned", "close"):
        await worker.presses_payload(step)
        payloads |= {b.payload for r in worker.last for row in r.buttons for b in row}
        await worker.presses_payload("g:back")
    payloads |= {
        open_payload("staff_cases", step)
        for step in ("list", "case", "reply", "canned", "canned_send", "close")
    }
    payloads |= {"m:staff", "cases", "c:1", "take", "reply", "why:answered", "k:timing", "send"}

    outsider = await citizen(cases_app, "2")
    for payload in sorted(payloads):
        await outsider.presses_payload(payload)
        outsider.expect_not(code, "Private question", "Take this case", "Open cases")
        await outsider.says("Here is my answer to you")  # typed while "in" a staff step
        outsider.expect_not(code, "Sent to the person")
    async with cases_app.db.transaction() as session:
        case = await session.scalar(select(Case))
        staff_messages = await session.scalar(
            select(func.count()).select_from(CaseMessage).where(CaseMessage.author == "staff")
        )
    assert case is not None and case.assignee == "telegram:900"
    assert staff_messages == 0


async def test_a_staff_member_removed_from_staff_ids_loses_access_at_once(
    sqlite_url: str, clock: Clock
) -> None:
    app = await build_app(
        make_settings(sqlite_url, staff_ids=STAFF_IDS), migrate=False, clock=clock
    )
    person = await citizen(app)
    code = await ask(person, "Question")
    worker = await staff(app)
    await open_cases_screen(worker)
    await worker.presses(code)
    await worker.presses("Take this case")
    await worker.presses("Reply")
    await app.close()

    # Restarted without them: the same chat, mid-answer, gets nothing of the case.
    app = await build_app(
        make_settings(sqlite_url, staff_ids="viber:staffViber01=="), migrate=False, clock=clock
    )
    try:
        worker.engine = app.engine
        await worker.says("My answer")
        worker.expect_not("Sent to the person", code)
        async with app.db.transaction() as session:
            assert not await service.reply(
                session,
                1,
                "telegram:900",
                "x",
                clock(),
                staff_ids=app.settings.staff_ids,
                default_locale="uk",
            )
        # What the person adds is not sent to them any more.
        person.engine = app.engine
        await person.says("menu")
        await person.presses("Ask a specialist")
        await person.presses("Add a message")
        await person.says("Anyone there?")
        person.expect(f"Added to case {code}")
        assert await outbox_for(app, "telegram", "900") == []
        # Their case is free for the others.
        colleague = await staff(app, "viber")
        await open_cases_screen(colleague)
        await colleague.presses(code)
        await colleague.presses("Take this case")
        colleague.expect("The case is yours now")
    finally:
        await app.close()


async def test_an_answer_queued_while_the_bot_restarts_arrives_exactly_once(
    sqlite_url: str, clock: Clock
) -> None:
    settings = make_settings(sqlite_url, staff_ids=STAFF_IDS)
    app = await build_app(settings, migrate=False, clock=clock)
    async with app.db.transaction() as session:
        citizen_row, _ = await People(session).get_or_register("telegram", "55")
        citizen_row.locale = "en"
        case = await service.open_case(session, citizen_row, topic="other", text="Q", now=clock())
        assert await service.take(
            session, case.id, "viber:staffViber01==", settings.staff_ids, clock()
        )
    async with app.db.transaction() as session:
        assert await service.reply(
            session,
            case.id,
            "viber:staffViber01==",
            "The answer",
            clock(),
            staff_ids=settings.staff_ids,
            default_locale="uk",
        )
    await app.close()  # the bot stops before anything is sent

    for start in range(2):  # started again, twice
        app = await build_app(settings, migrate=False, clock=clock)
        platform = FakePlatform("telegram")
        app.messengers.add(platform)
        async with RunningWorker(app) as worker:
            if start == 0:
                await wait_until(lambda p=platform: p.sends >= 1, limit=10)  # type: ignore[misc]
            await worker.idle()  # a duplicate would have been claimed and sent by now
        received = dict(platform.received)
        await app.close()
        if start == 0:
            assert [len(v) for v in received.values()] == [1]
            assert "The answer" in received["55"][0]
        else:
            assert received == {}


async def test_closed_cases_are_deleted_after_the_retention_period(
    sqlite_url: str, clock: Clock
) -> None:
    settings = make_settings(sqlite_url, case_retention_months=6)
    app = await build_app(settings, migrate=False, clock=clock)
    try:
        async with app.db.transaction() as session:
            person, _ = await People(session).get_or_register("telegram", "5")
            person.last_seen_at = clock()
            old = await service.open_case(session, person, topic="other", text="old", now=clock())
            await service.close_by_citizen(session, old, clock())
            kept_open = await service.open_case(
                session, person, topic="other", text="o", now=clock()
            )
        clock.advance(days=200)
        async with app.db.transaction() as session:
            found = await People(session).find("telegram", "5")
            assert found is not None
            person = found
            person.last_seen_at = clock()  # still active: only the old case goes
            recent = await service.open_case(session, person, topic="other", text="r", now=clock())
            await service.close_by_citizen(session, recent, clock())
        await retention_job(
            app.db, clock, app.settings.case_retention_months, app.runtime.personal_data
        )
        async with app.db.transaction() as session:
            left = set((await session.scalars(select(Case.id))).all())
            texts = set((await session.scalars(select(CaseMessage.text))).all())
            audit = (
                await session.scalars(select(AuditEntry).where(AuditEntry.action == "case.purged"))
            ).all()
        assert left == {kept_open.id, recent.id}
        assert texts == {"o", "r"}
        assert [a.details for a in audit] == [{"count": 1}]
    finally:
        await app.close()


async def test_a_rating_is_recorded_once_even_when_two_answers_race(
    db_url: str, clock: Clock
) -> None:
    db = Database(db_url)
    try:
        async with db.transaction() as session:
            person, _ = await People(session).get_or_register("viber", "r1")
            case = await service.open_case(session, person, topic="other", text="q", now=clock())
            await service.close_by_citizen(session, case, clock())
        # Both presses saw the question unanswered (two taps, two devices) and now write.
        async with db.transaction() as session:
            assert await service.rate(session, case.id, person.id, 5, clock())
        async with db.transaction() as session:
            assert not await service.rate(session, case.id, person.id, 1, clock())
            assert not await service.rate(session, case.id, person.id + 1, 1, clock())
            stored = await session.get(Case, case.id)
        assert stored is not None and stored.rating == 5
    finally:
        await db.dispose()
