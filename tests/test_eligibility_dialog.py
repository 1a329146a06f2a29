"""The eligibility dialog through the test adapter, in Ukrainian and English.

Every reply of the check fits one phone message (700 characters): the result, each
programme's details and each "why not", walked for every programme in both languages.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from bot.app import App
from bot.engine import DialogRegistry, Reply
from dialogs.eligibility import MESSAGE_LIMIT, shown_length
from handlers.conversation import Conversation
from tests.conftest import onboard
from tests.eligibility_support import PERSONAS, demo

Chat = Callable[..., Conversation]


async def start_check(chat_factory: Chat, language: str, user_id: str = "1") -> Conversation:
    chat = chat_factory(user_id=user_id)
    await onboard(chat, language)
    await chat.presses("Check eligibility" if language == "en" else "Перевірити право")
    return chat


async def press_exact(chat: Conversation, label: str) -> None:
    for reply in chat.last:
        for row in reply.buttons:
            for button in row:
                if button.label == label:
                    await chat.presses_payload(button.payload)
                    return
    raise AssertionError(f"no button {label!r}; buttons were {chat.buttons}")


async def answer(chat: Conversation, person: dict[str, Any], language: str) -> list[str]:
    """Answer every question the bot asks from `person`, the way a person would."""
    data = demo()
    asked: list[str] = []
    while True:
        text = chat.text
        question = next((q for q in data.questions_in_order() if q.text(language) in text), None)
        if question is None:
            return asked
        asked.append(question.id)
        value = person[question.id]
        if question.type == "yes_no":
            await press_exact(
                chat, {"en": ("Yes", "No"), "uk": ("Так", "Ні")}[language][not value]
            )
        elif question.type == "choice":
            option = next(o for o in question.options if o.id == value)
            await press_exact(chat, option.label(language))
        elif question.type == "date":
            await chat.says(dt.date.fromisoformat(value).strftime("%d.%m.%Y"))
        elif str(value) in chat.buttons:
            await press_exact(chat, str(value))
        else:
            await chat.says(str(value))


def length(reply: Reply) -> int:
    return shown_length(reply.title, reply.text, list(reply.links))


def assert_fits(chat: Conversation) -> None:
    for reply in chat.last:
        assert length(reply) <= MESSAGE_LIMIT, (length(reply), reply.full_text())


# Besides the seven personas, people for whom the remaining programmes are likely, so that
# every programme's details are walked too.
EVERYTHING_NO = {
    "idp_certificate": False,
    "children_count": 0,
    "age_band": "age_18_59",
    "disability_group": "none",
    "pension": False,
    "carer": False,
    "household_size": 1,
    "income_monthly": "20000",
    "work": "works",
    "utility_bills": "0",
    "utility_debt": False,
    "abroad_60_days": False,
    "big_purchase": False,
    "purchase_over_100k": False,
    "deposit_over_100k": False,
    "home_damaged": False,
    "single_parent": False,
    "survivor_pension": False,
    "child_with_disability": False,
    "disability_since_childhood": False,
}
WALKERS = {
    **PERSONAS,
    "newborn_with_disability": {
        **EVERYTHING_NO,
        "children_count": 1,
        "children_under_6": 1,
        "youngest_child_birth_date": "2026-10-01",
        "child_with_disability": True,
        "household_size": 3,
    },
    "aged_without_pension": {
        **EVERYTHING_NO,
        "age_band": "age_65_plus",
        "income_monthly": "2000",
    },
}


@pytest.mark.parametrize("language", ["en", "uk"])
async def test_every_reply_fits_one_phone_message(chat_factory: Chat, language: str) -> None:
    detailed: set[str] = set()
    explained: set[str] = set()
    data = demo()
    short = {p.short_title(language): p.id for p in data.programmes}
    for n, (name, person) in enumerate(WALKERS.items()):
        chat = await start_check(chat_factory, language, user_id=f"{language}{n}")
        await answer(chat, person, language)
        assert_fits(chat)
        result_buttons = [b for b in chat.buttons if b.startswith("ℹ️ ")]
        for label in result_buttons:
            await press_exact(chat, label)
            assert_fits(chat)
            detailed.add(short[label.removeprefix("ℹ️ ")])
            await press_exact(
                chat, "◀ Back to the result" if language == "en" else "◀ До результату"
            )
        if any("❓" in b for b in chat.buttons):
            await chat.presses("❓")
            assert_fits(chat)
            for reply in chat.last[:-1]:
                explained.add(short[reply.title[2:]] if reply.title else name)
                # hints are plain conditionals: never a quoted question, label or option
                hints = [line for line in reply.text.splitlines() if line.startswith("💡")]
                assert not any(mark in h for h in hints for mark in '«“"'), hints
    every = {p.id for p in data.programmes}
    assert detailed == every
    assert explained == every


async def test_displaced_mother_in_english(chat_factory: Chat) -> None:
    chat = await start_check(chat_factory, "en")
    asked = await answer(chat, PERSONAS["displaced_mother"], "en")
    assert len(asked) == 17
    chat.expect(
        "Your result",
        "likely eligible for 4 programmes",
        r"IDP living allowance: about 8,000 UAH a month\n  → Apply in Diia or at the Pension Fund",
        r"Single mothers' assistance: about 5,634 UAH a month",
        r"Low-income family assistance: about 10,166 UAH a month",
        r"Basic Social Assistance: about 13,500 UAH a month",
        buttons=[
            "ℹ️ IDP living allowance",
            "Why not the others?",
            "Book an appointment",
            "Ask again",
        ],
    )
    await chat.presses("ℹ️ Single mothers")
    chat.expect(
        "Assistance for children of single mothers",
        "Documents:",
        'Law "On State Assistance to Families with Children"',
        r"Checked on 1 December 2026",
        "Income is counted over the last 6 months",
    )
    assert [link.url for reply in chat.last for link in reply.links] == [
        "https://zakon.rada.gov.ua/laws/show/2811-12"
    ]
    await chat.presses("Back to the result")
    await chat.presses("Why not the others?")
    chat.expect(
        "❌ Housing subsidy",
        "you do not pay them",
        "❌ Carer's compensation",
        "It would change if you cared for a family member who needs it",
    )
    chat.expect_not("answer about", "“Yes”")


async def test_idp_pensioner_in_ukrainian(chat_factory: Chat) -> None:
    chat = await start_check(chat_factory, "uk")
    chat.expect("Питання 1", "довідка ВПО", buttons=["Так", "Ні"])
    await press_exact(chat, "Так")
    await press_exact(chat, "6 місяців і довше")
    await press_exact(chat, "0")
    chat.expect("Скільки вам років", buttons=["18–59", "65 і більше"])
    await chat.says("150")
    chat.expect("Натисніть кнопку або напишіть число")
    await chat.says("68")  # typed: the band "65 і більше"
    chat.expect("групу інвалідності")
    await answer(chat, PERSONAS["idp_pensioner"], "uk")
    chat.expect(
        "Ваш результат",
        r"Допомога на проживання ВПО: близько 2\s000 грн на місяць",
        "Подайте заяву в Дії або в Пенсійному фонді",
    )
    await chat.presses("Чому не інші")
    chat.expect(
        "❌ Базова соціальна допомога",
        r"Це змінилося б, якби середній дохід вашої сім'ї на місяць був меншим за 4\s500 грн\.",
    )
    chat.expect_not("ви відповіли")


async def test_family_size_buttons_and_a_contradicting_answer(chat_factory: Chat) -> None:
    chat = await start_check(chat_factory, "en")
    person = {**PERSONAS["family_of_four_renting"], "children_count": 2}
    await press_exact(chat, "No")
    chat.expect("How many children", buttons=["0", "1", "5+"])
    await press_exact(chat, "5+")
    chat.expect("type the exact number, 5 or more")
    await press_exact(chat, "2")
    chat.expect("How many of them are under 6", buttons=["0", "1", "2"])
    assert "3" not in chat.buttons  # more than the children counted is ruled out
    await chat.says("3")
    chat.expect("You said 2 children under 18 live with you")
    await press_exact(chat, "0")
    data = demo()
    while data.questions["household_size"].text("en") not in chat.text:
        await answer_one(chat, person)
    # family-size buttons never offer fewer than you and the two children
    assert [b for b in chat.buttons if b.isdigit()] == ["3", "4", "5"]
    assert "6+" in chat.buttons
    await chat.says("2")
    chat.expect("You said 2 children live with you, so your family has at least 3 people")
    await press_exact(chat, "4")
    chat.expect("average income per month")


async def answer_one(chat: Conversation, person: dict[str, Any]) -> None:
    data = demo()
    question = next(q for q in data.questions_in_order() if q.text("en") in chat.text)
    value = person[question.id]
    if question.type == "yes_no":
        await press_exact(chat, "Yes" if value else "No")
    elif question.type == "choice":
        await press_exact(chat, next(o for o in question.options if o.id == value).label("en"))
    else:
        await chat.says(str(value))


async def test_back_changes_the_previous_answer_and_start_over_begins_again(
    chat_factory: Chat,
) -> None:
    chat = await start_check(chat_factory, "en")
    await press_exact(chat, "Yes")
    chat.expect("Question 2", "How long has your family been receiving")
    await chat.presses("Back")
    chat.expect("Question 1", "IDP registration certificate")
    await press_exact(chat, "No")  # a different answer: the IDP questions are no longer needed
    chat.expect("Question 2", "How many children")
    await press_exact(chat, "0")
    chat.expect("Question 3", "How old are you")
    await chat.presses("Start over")
    chat.expect("Question 1", "IDP registration certificate")
    await chat.presses("Back")  # the earlier answers are gone: Back leads out, to the menu
    chat.expect("Main menu")


async def test_back_from_the_result_reopens_the_last_question(chat_factory: Chat) -> None:
    chat = await start_check(chat_factory, "en")
    await answer(chat, PERSONAS["young_employed"], "en")
    chat.expect("did not find a programme", "not a decision")
    await chat.presses("Back")
    chat.expect("Question 9", "damaged or destroyed")


async def test_booking_is_offered_after_the_result(chat_factory: Chat, sqlite_app: App) -> None:
    chat = await start_check(chat_factory, "en")
    await answer(chat, PERSONAS["carer_of_parent"], "en")
    chat.expect("Carer's compensation: the amount depends on")
    if "booking" in sqlite_app.engine.dialogs:
        await chat.presses("Book an appointment")
        chat.expect_not("Where to apply", "Why not")
    # without a booking dialog, the places to apply are shown instead
    registry = DialogRegistry()
    for name in sqlite_app.engine.dialogs.names():
        dialog = sqlite_app.engine.dialogs.get(name)
        if name != "booking" and dialog is not None:
            registry.register(dialog)
    sqlite_app.engine.dialogs = registry
    chat = await start_check(chat_factory, "en", user_id="2")
    await answer(chat, PERSONAS["carer_of_parent"], "en")
    await chat.presses("Book an appointment")
    chat.expect("Where to apply", "Social protection department", "0 800 503 753")


async def test_an_old_yes_button_cannot_answer_a_later_question(chat_factory: Chat) -> None:
    chat = await start_check(chat_factory, "en")
    old_yes = chat.payload_of("Yes")
    await press_exact(chat, "No")
    await chat.presses_payload(old_yes)  # the "Yes" from question 1, pressed again
    chat.expect("earlier message", "How many children")
    await press_exact(chat, "1")
    await press_exact(chat, "1")
    await chat.says("01.03.2026")
    chat.expect("raising your children alone", buttons=["Yes"])
    await chat.presses_payload(old_yes)  # a "Yes" is on screen again, but not that one
    chat.expect("earlier message", "raising your children alone")
