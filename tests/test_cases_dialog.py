"""Ask a specialist through the engine: open, take, answer, close, rate — and who may do what."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from bot.app import App, build_app
from bot.i18n import translator
from bot.resources import Resources
from bot.services.cases.context import describe, gather
from storage.models import AuditEntry
from storage.models.cases import Case, CaseMessage
from storage.repositories import People
from tests.cases_support import (
    STAFF_IDS,
    ask,
    case_by_code,
    citizen,
    open_cases_screen,
    outbox_for,
    staff,
)
from tests.conftest import Clock, make_settings
from tests.status_support import DEMO_ROWS, csv_text, import_csv


@pytest.fixture
async def cases_app(sqlite_url: str, clock: Clock) -> AsyncIterator[App]:
    app = await build_app(
        make_settings(sqlite_url, staff_ids=STAFF_IDS), migrate=False, clock=clock
    )
    yield app
    await app.close()


async def test_a_case_is_opened_taken_answered_closed_and_rated_once(cases_app: App) -> None:
    person = await citizen(cases_app)
    code = await ask(person, "My pension stopped in October, why?")
    person.expect("Specialists work Mon–Fri, 09:00–18:00", "about 4 hours")

    worker = await staff(cases_app, "viber")
    await open_cases_screen(worker)
    worker.expect("oldest first", buttons=[code])
    assert "test" in worker.buttons[0] and "en" in worker.buttons[0]
    await worker.presses(code)
    worker.expect("My pension stopped in October", buttons=["Take this case"])
    await worker.presses("Take this case")
    worker.expect("The case is yours now", buttons=["Reply", "Close"])
    await worker.presses("Reply")
    await worker.says("Your certificate expired; please renew it.")
    worker.expect("Sent to the person")

    sent = await outbox_for(cases_app, "test", "1")
    assert len(sent) == 1
    row, replies = sent[0]
    assert row.kind == "case" and row.not_before == cases_app.runtime.now()
    assert replies[0].text == "Your certificate expired; please renew it."
    assert code in (replies[0].title or "")

    # The person replies through the button under the answer.
    await person.presses_payload(replies[0].buttons[0][0].payload)
    person.expect(f"Write your message for case {code}")
    await person.says("Thank you, where do I renew it?")
    person.expect(f"Added to case {code}")
    staff_notes = await outbox_for(cases_app, "viber", "staffViber01==")
    assert [r[0].text for _, r in staff_notes] == ["Thank you, where do I renew it?"]

    await worker.presses("Close")
    await worker.presses("Answered")
    worker.expect("Closed. The person has been told")
    closing = (await outbox_for(cases_app, "test", "1"))[-1][1][0]
    assert [b.label for b in closing.buttons[0]] == ["1", "2", "3", "4", "5"]

    await person.presses_payload(closing.buttons[0][3].payload)
    person.expect("Thank you! Your rating")
    await person.presses_payload(closing.buttons[0][0].payload)
    person.expect("already answered")
    case = await case_by_code(cases_app, code)
    assert (case.state, case.close_reason, case.rating) == ("closed", "answered", 4)
    assert case.first_answer_at is not None

    async with cases_app.db.transaction() as session:
        actions = [
            (a.actor, a.action)
            for a in (await session.scalars(select(AuditEntry).order_by(AuditEntry.id))).all()
            if a.action.startswith("case.")
        ]
        details = [a.details for a in (await session.scalars(select(AuditEntry))).all()]
    assert ("viber:staffViber01==", "case.taken") in actions
    assert ("viber:staffViber01==", "case.replied") in actions
    assert ("viber:staffViber01==", "case.closed") in actions
    assert "pension" not in str(details) and "renew" not in str(details)


async def test_the_person_closes_their_case_and_is_asked_once(cases_app: App) -> None:
    person = await citizen(cases_app, language="uk")
    code = await _ask_uk(person)
    await person.says("меню")
    await person.presses("Запитати фахівця")
    person.expect(code, "Очікує на фахівця")
    await person.presses("Закрити звернення")
    await person.presses("Так, закрити")
    person.expect("Наскільки ви задоволені")
    await person.presses("5")
    await person.says("меню")
    await person.presses("Запитати фахівця")
    person.expect("Про що ваше питання")  # asked once: a new question now
    case = await case_by_code(cases_app, code)
    assert (case.state, case.closed_by, case.rating) == ("closed", "citizen", 5)


async def _ask_uk(chat) -> str:  # type: ignore[no-untyped-def]
    await chat.says("меню")
    await chat.presses("Запитати фахівця")
    await chat.presses("Інше")
    await chat.says("Коли буде виплата?")
    await chat.presses("Ні, дайте відповідь тут")
    chat.expect("Номер вашого звернення")
    number: str = chat.text.split("звернення ")[1].split(".")[0]
    return number


async def test_a_phone_number_is_kept_only_when_shared(cases_app: App) -> None:
    person = await citizen(cases_app)
    await person.says("menu")
    await person.presses("Ask a specialist")
    await person.presses("Benefits")
    await person.says("Can you call me?")
    await person.shares_contact("+380 67 123 45 67")
    person.expect("Your case number is")
    async with cases_app.db.transaction() as session:
        case = await session.scalar(select(Case))
    assert case is not None and case.phone == "+380671234567"


async def test_two_staff_cannot_both_hold_a_case(cases_app: App) -> None:
    person = await citizen(cases_app)
    code = await ask(person, "Question")
    first, second = await staff(cases_app, "telegram"), await staff(cases_app, "viber")
    for chat in (first, second):
        await open_cases_screen(chat)
        await chat.presses(code)
    await first.presses("Take this case")
    await second.presses("Take this case")
    second.expect("Someone else has just taken this case")
    assert "Reply" not in " ".join(second.buttons)
    await second.presses_payload("reply")  # a forged press of a button it was not shown
    second.expect_not("Write your answer")
    case = await case_by_code(cases_app, code)
    assert case.assignee == "telegram:900"


async def test_erasing_a_person_erases_their_cases(cases_app: App) -> None:
    person = await citizen(cases_app)
    code = await ask(person, "Erase me")
    worker = await staff(cases_app)
    await open_cases_screen(worker)
    await worker.presses(code)
    await worker.presses("Take this case")
    await worker.presses("Reply")
    await worker.says("An answer")
    await person.says("menu")
    await person.presses("My data")
    person.expect(f"Question to a specialist {code}")
    await person.presses("Delete my data")
    await person.presses("Yes, delete everything")
    async with cases_app.db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Case)) == 0
        assert await session.scalar(select(func.count()).select_from(CaseMessage)) == 0
        audit = (await session.scalars(select(AuditEntry))).all()
    assert any(a.action == "person.erased" for a in audit)
    assert "Erase me" not in str([a.details for a in audit])


async def test_a_needs_documents_status_leads_to_a_specialist_with_its_context(
    cases_app: App,
) -> None:
    await import_csv(cases_app, csv_text(*DEMO_ROWS))
    person = await citizen(cases_app)
    await person.presses("application status")
    await person.says("VPO-2026-000124")
    await person.says("02.07.1979")
    person.expect("Bring the IBAN", buttons=["Ask a specialist"])
    await person.presses("Ask a specialist")
    person.expect("Write your question")  # the topic is known already
    await person.says("Which IBAN certificate do they need?")
    person.expect("May I show the specialist", "Application VPO-2026-000124")
    await person.presses("Yes, show it")
    await person.presses("answer me here")
    async with cases_app.db.transaction() as session:
        case = await session.scalar(select(Case))
    assert case is not None and case.topic == "status"
    assert case.context == {
        "applications": [{"number": "VPO-2026-000124", "status": "needs_documents"}]
    }
    assert "1979" not in json.dumps(case.context)  # never the birth date

    worker = await staff(cases_app, language="uk")
    await open_cases_screen_uk(worker)
    await worker.presses(case.code)
    worker.expect("Людина поділилася", "Заява VPO-2026-000124")


async def open_cases_screen_uk(chat) -> None:  # type: ignore[no-untyped-def]
    await chat.says("меню")
    await chat.presses("Для працівників")
    await chat.presses("Звернення")


async def test_without_consent_nothing_but_the_question_travels(cases_app: App) -> None:
    await import_csv(cases_app, csv_text(*DEMO_ROWS))
    person = await citizen(cases_app)
    await person.presses("application status")
    await person.says("VPO-2026-000124")
    await person.says("02.07.1979")
    await person.presses("Ask a specialist")
    await person.says("Question")
    await person.presses("No, only my question")
    await person.presses("answer me here")
    async with cases_app.db.transaction() as session:
        case = await session.scalar(select(Case))
    assert case is not None and case.context == {}


async def test_an_eligibility_check_travels_as_answers_and_result(cases_app: App) -> None:
    resources = Resources.of(cases_app.runtime.resources)
    data = resources.eligibility
    assert data is not None
    answers = {"idp_certificate": False, "children_count": 0, "age": 30}
    answers = {qid: value for qid, value in answers.items() if qid in data.questions}
    async with cases_app.db.transaction() as session:
        person, _ = await People(session).get_or_register("test", "9")
        found = await gather(
            session,
            resources,
            person,
            {"eligibility": {"answers": answers, "on": "2026-11-24"}},
            cases_app.runtime.now(),
        )
    assert found["eligibility"]["answers"] == answers
    assert isinstance(found["eligibility"]["eligible"], list)
    lines = describe(found, resources, translator("en"))
    assert lines[0].startswith("Eligibility check:")
    assert len(lines) == 1 + len(answers)


async def test_handing_back_frees_the_case_for_a_colleague(cases_app: App) -> None:
    person = await citizen(cases_app)
    code = await ask(person, "Question")
    first, second = await staff(cases_app, "telegram"), await staff(cases_app, "viber")
    await open_cases_screen(first)
    await first.presses(code)
    await first.presses("Take this case")
    await open_cases_screen(second)
    second.expect_not(code)  # held by a colleague: not in the list
    await first.presses("Hand back")
    first.expect("any colleague can take it now")
    await second.presses("Refresh")
    await second.presses(code)
    await second.presses("Take this case")
    second.expect("The case is yours now")
    async with cases_app.db.transaction() as session:
        actions = (await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id))).all()
    assert [a for a in actions if a in ("case.taken", "case.handed_back")] == [
        "case.taken",
        "case.handed_back",
        "case.taken",
    ]


async def test_staff_see_the_statistics_in_their_menu(cases_app: App) -> None:
    person = await citizen(cases_app)
    await ask(person, "Question")
    worker = await staff(cases_app)
    await worker.says("menu")
    await worker.presses("Staff")
    await worker.presses("Statistics")
    worker.expect("Period: all time", "Cases: opened 1, open now 1, answered 0, closed 0")
    await worker.presses("7 days")
    worker.expect("Period:", "Ask a specialist: 1 → 1")
    await person.presses_payload("m:staff")
    person.expect_not("Period")
