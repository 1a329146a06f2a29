"""The eligibility dialog through the test adapter, in Ukrainian and English."""

from __future__ import annotations

from collections.abc import Callable

from bot.app import App
from bot.engine import DialogRegistry
from handlers.conversation import Conversation
from tests.conftest import onboard

Chat = Callable[..., Conversation]


async def start_check(chat_factory: Chat, language: str) -> Conversation:
    chat = chat_factory()
    await onboard(chat, language)
    await chat.presses("Check eligibility" if language == "en" else "Перевірити право")
    return chat


async def test_young_mother_in_english(chat_factory: Chat) -> None:
    chat = await start_check(chat_factory, "en")
    chat.expect("Question 1", "IDP registration certificate", buttons=["Yes", "No", "Menu"])
    await chat.presses("No")
    chat.expect("How many children under 18", buttons=["1", "0", "Start over", "Back"])
    await chat.presses("1")
    chat.expect("When was your youngest child born")
    await chat.says("31.02.2026")
    chat.expect("no such date", "When was your youngest child born")
    await chat.says("10.08.2027")
    chat.expect("in the future")
    await chat.says("10.08.2026")
    chat.expect("raising your children alone")
    await chat.says("yes")  # typed, not pressed
    chat.expect("any of your children have a disability")
    await chat.presses("No")
    chat.expect("disability group", buttons=["Group I", "Group II", "Group III"])
    await chat.presses("No")
    chat.expect("How many people are in your family")
    await chat.says("1")  # fewer than herself and her child
    chat.expect("from 2 to 20")
    await chat.presses("2")
    chat.expect("average income per month")
    await chat.says("five thousand")
    chat.expect("in digits, up to 10,000,000")
    await chat.says("5 000 грн")
    chat.expect("housing and utilities")
    await chat.says("2500")
    chat.expect("utility debt")
    await chat.presses("No")
    chat.expect("deposit over 100,000")
    await chat.presses("No")
    chat.expect(
        "Your result",
        "likely eligible for 4 programmes",
        r"Birth assistance — 50,000 UAH once",
        r"Basic Social Assistance .* about 4,000 UAH a month",
        r"Assistance for children of single parents — up to 1,012 UAH a month",
        "Documents:",
        "Pension Fund of Ukraine service centre — ☎ 0 800 503 753",
        "Cabinet of Ministers Resolution No. 371",
        r"Checked on 22 November 2026\. Source: https://",
        "not an official decision",
        "1545",
        buttons=["Why not the others?", "Book an appointment", "Start over", "Back"],
    )
    chat.expect_not("IDP living allowance")
    await chat.presses("Why not the others?")
    chat.expect(
        "❌ IDP living allowance",
        "hold an IDP certificate",
        "It would change if your answer about “IDP certificate” were “Yes”",
        "1545",
    )
    chat.expect_not("✅")


async def test_displaced_pensioner_in_ukrainian(chat_factory: Chat) -> None:
    chat = await start_check(chat_factory, "uk")
    chat.expect("Питання 1", "довідка ВПО", buttons=["Так", "Ні"])
    await chat.presses("Так")
    await chat.presses("Понад 12 місяців")
    chat.expect("Скільки дітей")
    await chat.presses("0")
    await chat.presses("Ні")  # no disability group
    chat.expect("Скільки вам повних років")
    await chat.says("150")
    chat.expect("від 14 до 110")
    await chat.says("68")
    await chat.presses("1")
    await chat.says("6000")
    await chat.says("0")  # no utility bills of her own
    await chat.says("ні")  # typed
    chat.expect(
        "Ваш результат",
        r"Допомога на проживання внутрішньо переміщеним особам — близько 2\s000 грн на місяць",
        "Постанова Кабінету Міністрів України від 20.03.2022 № 332",
        "не офіційне рішення",
        "1545",
    )
    await chat.presses("Чому не інші")
    chat.expect(
        "❌ Базова соціальна допомога",
        r"Це змінилося б, якби показник «середньомісячний дохід сім'ї» був меншим за 4\s500 грн",
        "❌ Житлова субсидія",
    )


async def test_back_changes_the_previous_answer_and_start_over_begins_again(
    chat_factory: Chat,
) -> None:
    chat = await start_check(chat_factory, "en")
    await chat.presses("Yes")
    chat.expect("Question 2", "How long has your family already received")
    await chat.presses("Back")
    chat.expect("Question 1", "IDP registration certificate")
    await chat.presses("No")  # a different answer: the IDP questions are no longer needed
    chat.expect("Question 2", "How many children")
    await chat.presses("0")
    chat.expect("Question 3", "disability group")
    await chat.presses("Start over")
    chat.expect("Question 1", "IDP registration certificate")
    await chat.presses("Back")  # the earlier answers are gone: Back leads out, to the menu
    chat.expect("Main menu")


async def test_back_from_the_result_reopens_the_last_question(chat_factory: Chat) -> None:
    chat = await start_check(chat_factory, "en")
    for step in ("No", "0", "No"):
        await chat.presses(step)
    await chat.presses("1")
    await chat.says("40000")
    await chat.says("3000")
    chat.expect("did not find a programme", "not an official decision")
    await chat.presses("Back")
    chat.expect("Question 6", "housing and utilities")
    await chat.says("0")
    chat.expect("did not find a programme")
    await chat.presses("Why not")
    chat.expect("❌ Housing and utility subsidy", "you do not pay them")


async def test_booking_is_offered_after_the_result(chat_factory: Chat, sqlite_app: App) -> None:
    chat = await start_check(chat_factory, "en")
    for step in ("No", "0", "No"):
        await chat.presses(step)
    await chat.presses("1")
    await chat.says("1000")
    await chat.says("0")
    await chat.presses("No")
    chat.expect("Basic Social Assistance")
    if "booking" in sqlite_app.runtime.dialogs:
        await chat.presses("Book an appointment")
        chat.expect_not("Where to apply", "Why not")
    # without a booking dialog, the places to apply are shown instead
    registry = DialogRegistry()
    for name in sqlite_app.runtime.dialogs.names():
        dialog = sqlite_app.runtime.dialogs.get(name)
        if name != "booking" and dialog is not None:
            registry.register(dialog)
    sqlite_app.runtime.dialogs = registry
    chat = chat_factory(user_id="2")
    await onboard(chat, "en")
    await chat.presses("Check eligibility")
    for step in ("No", "0", "No"):
        await chat.presses(step)
    await chat.presses("1")
    await chat.says("1000")
    await chat.says("0")
    await chat.presses("No")
    await chat.presses("Book an appointment")
    chat.expect(
        "Where to apply", "Pension Fund of Ukraine service centre", "0 800 503 753", "1545"
    )


async def test_an_old_yes_button_cannot_answer_a_later_question(chat_factory: Chat) -> None:
    chat = await start_check(chat_factory, "en")
    old_yes = chat.payload_of("Yes")
    await chat.presses("No")
    await chat.presses_payload(old_yes)  # the "Yes" from question 1, pressed again
    chat.expect("earlier message", "How many children")
    await chat.presses("1")
    await chat.says("01.03.2026")
    chat.expect("raising your children alone", buttons=["Yes"])
    await chat.presses_payload(old_yes)  # a "Yes" is on screen again, but not that one
    chat.expect("earlier message", "raising your children alone")
