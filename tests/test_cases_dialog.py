"""Ask a specialist through the engine: open, take, answer, close, rate — and who may do what."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from bot.app import App, build_app
from storage.models import AuditEntry
from storage.models.cases import Case, CaseMessage
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
    return chat.text.split("звернення ")[1].split(".")[0]


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
