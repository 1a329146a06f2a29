"""The status dialog through the conversation adapter, in both languages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from bot.app import App
from handlers.conversation import Conversation
from storage.models.status import Follow
from tests.conftest import Clock, onboard
from tests.status_support import DEMO_ROWS, count, csv_text, import_csv

Chat = Callable[..., Conversation]
MISMATCH = "Not found, or the details do not match"


async def open_status(chat: Conversation, language: str = "en") -> None:
    await onboard(chat, language)
    await chat.presses("application status" if language == "en" else "Статус моєї заяви")


async def check(chat: Conversation, number: str, birth_date: str) -> None:
    await chat.says(number)
    await chat.says(birth_date)


async def test_lookup_shows_status_in_plain_words(chat_factory: Chat, sqlite_app: App) -> None:
    await import_csv(sqlite_app, csv_text(*DEMO_ROWS))
    chat = chat_factory()
    await open_status(chat)
    chat.expect("Type your application number", "VPO-2026-000123")
    await chat.says("vpo 2026 – 000124")  # spaces, case and a phone's dash
    chat.expect("date of birth")
    await chat.says("1979-07-02")
    chat.expect(
        "Application VPO-2026-000124",
        "Status: Documents needed",
        "Pension Fund service centre or ЦНАП",
        "Note: Bring the IBAN",
        "Last change: 18 November 2026",
        buttons=["Notify me when it changes", "Check another application"],
    )


async def test_history_lists_every_status(chat_factory: Chat, sqlite_app: App) -> None:
    await import_csv(sqlite_app, csv_text(DEMO_ROWS[0]))
    await import_csv(
        sqlite_app, csv_text("VPO-2026-000123,1984-03-15,approved,2026-11-23T09:00:00+02:00,")
    )
    chat = chat_factory()
    await open_status(chat)
    await check(chat, "VPO-2026-000123", "15.03.1984")
    chat.expect(
        "Status: Approved",
        "History:",
        r"23 November 2026 — Approved\n• 20 November 2026 — Under review",
    )


async def test_mismatch_wording_is_identical_for_unknown_number_and_wrong_date(
    chat_factory: Chat, sqlite_app: App
) -> None:
    await import_csv(sqlite_app, csv_text(*DEMO_ROWS))
    unknown = chat_factory(user_id="1")
    await open_status(unknown)
    await check(unknown, "VPO-2026-999999", "15.03.1984")
    wrong_date = chat_factory(user_id="2")
    await open_status(wrong_date)
    await check(wrong_date, "VPO-2026-000123", "16.03.1984")
    assert unknown.text == wrong_date.text
    assert [r.buttons for r in unknown.last] == [r.buttons for r in wrong_date.last]
    unknown.expect(MISMATCH, "4 more tries this hour", "Type your application number")


async def test_lockout_after_five_failures_and_its_release(
    chat_factory: Chat, sqlite_app: App, clock: Clock
) -> None:
    await import_csv(sqlite_app, csv_text(*DEMO_ROWS))
    chat = chat_factory()
    await open_status(chat)
    for minute in range(5):
        await check(chat, "VPO-2026-000123", f"0{minute + 1}.01.1984")
        clock.advance(minutes=10)
    # Five failures between 12:00 and 12:40 Kyiv time: wait until 13:00.
    chat.expect(MISMATCH, "paused", "try again after 13:00")
    chat.expect_not("more tr")
    await chat.says("VPO-2026-000123")  # the right details do not help while locked
    chat.expect("try again after 13:00")
    chat.expect_not("date of birth")

    clock.advance(minutes=10)  # 13:00 Kyiv: the first failure is an hour old
    await chat.presses("Menu")
    await chat.presses("application status")
    await check(chat, "VPO-2026-000123", "15.03.1984")
    chat.expect("Status: Under review")


async def test_lockout_in_ukrainian_crossing_midnight(
    chat_factory: Chat, sqlite_app: App, clock: Clock
) -> None:
    await import_csv(sqlite_app, csv_text(*DEMO_ROWS))
    clock.current = datetime(2026, 11, 24, 21, 30, tzinfo=UTC)  # 23:30 in Kyiv
    chat = chat_factory()
    await open_status(chat, "uk")
    for _ in range(5):
        await check(chat, "VPO-2026-000999", "01.01.1984")
    chat.expect(
        "Заяву не знайдено або дані не збігаються",
        r"після 25 листопада 2026\W+р\., 00:30 за київським часом",
    )


async def test_follow_list_and_unfollow(chat_factory: Chat, sqlite_app: App) -> None:
    await import_csv(sqlite_app, csv_text(*DEMO_ROWS))
    chat = chat_factory()
    await open_status(chat)
    await check(chat, "VPO-2026-000123", "15.03.1984")
    await chat.presses("Notify me")
    chat.expect("I will write to you", "VPO-2026-000123 — Under review")
    await chat.presses("Check an application")
    await check(chat, "VPO2026000124", "02.07.1979")
    await chat.presses("Notify me")
    chat.expect("VPO-2026-000123 — Under review", "VPO-2026-000124 — Documents needed")
    assert await count(sqlite_app, Follow) == 2

    await chat.presses("Menu")
    await chat.presses("application status")
    await chat.presses("Applications I follow (2)")
    assert "🔕 Stop" not in chat.buttons  # a Stop button says what it stops
    assert chat.buttons.count("🔕 Stop notifications") == 2
    await chat.presses("Stop")  # the first application's button
    chat.expect("Stop notifications about application VPO-2026-000123?")
    assert await count(sqlite_app, Follow) == 2  # not before it is confirmed
    await chat.presses("Yes, stop notifications")
    chat.expect("No more messages about application VPO-2026-000123")
    chat.expect_not("VPO-2026-000123 —")
    assert await count(sqlite_app, Follow) == 1

    await chat.presses("VPO-2026-000124")  # show it again, no birth date needed
    chat.expect("Status: Documents needed", buttons=["Stop notifications"])
    await chat.presses("Stop notifications")
    await chat.presses("No, keep them")
    chat.expect("Status: Documents needed")
    assert await count(sqlite_app, Follow) == 1
    await chat.presses("Stop notifications")
    await chat.presses("Yes, stop notifications")
    chat.expect("You do not follow any applications yet")
    assert await count(sqlite_app, Follow) == 0

    # No button ever carried an application number: only internal ids.
    payloads = [p for reply in chat.history for p in reply.payloads]
    assert payloads
    assert not [p for p in payloads if "000123" in p or "000124" in p or "VPO" in p]


async def test_ukrainian_conversation(chat_factory: Chat, sqlite_app: App) -> None:
    await import_csv(sqlite_app, csv_text(*DEMO_ROWS))
    chat = chat_factory()
    await open_status(chat, "uk")
    chat.expect("Введіть номер заяви")
    await chat.says("ВПО-2026-000123")  # typed on a Ukrainian keyboard
    chat.expect("дату народження")
    await chat.says("15.03.1984")
    chat.expect(
        "Статус: На розгляді",
        "Остання зміна: 20 листопада 2026",
        buttons=["Повідомити про зміни"],
    )
    await chat.presses("Повідомити про зміни")
    chat.expect("Готово", "VPO-2026-000123 — На розгляді")
    await chat.says("/menu")
    await chat.presses("Мої дані")
    chat.expect("Заяви, за якими ви стежите: VPO-2026-000123")


async def test_bad_input_is_reprompted(chat_factory: Chat, sqlite_app: App) -> None:
    chat = chat_factory()
    await open_status(chat)
    await chat.says("my number is lost")
    chat.expect("does not look like an application number", "Type your application number")
    await chat.says("VPO-2026-000123")
    await chat.says("31.02.1984")
    chat.expect("no such date", "date of birth")
    await chat.says("31.12.2099")
    chat.expect("in the future")


async def erase_data(chat: Conversation) -> None:
    await chat.says("/menu")
    await chat.presses("My data")
    await chat.presses("Delete my data")
    await chat.presses("Yes, delete everything")


async def test_lockout_survives_deleting_ones_data(
    chat_factory: Chat, sqlite_app: App, clock: Clock
) -> None:
    """Erasing one's data must not buy five fresh guesses."""
    await import_csv(sqlite_app, csv_text(*DEMO_ROWS))
    chat = chat_factory()
    await open_status(chat)
    for day in range(5):
        await check(chat, "VPO-2026-000123", f"0{day + 1}.01.1984")
    chat.expect("paused")
    await erase_data(chat)
    await open_status(chat)
    chat.expect("paused", "try again after 13:00 Kyiv time")
    await chat.says("VPO-2026-000123")
    chat.expect("paused")
    chat.expect_not("date of birth")


async def test_one_application_number_is_paused_after_ten_failures_across_everyone(
    chat_factory: Chat, sqlite_app: App, clock: Clock
) -> None:
    """Guessing one application's birth date from several accounts is limited too."""
    await import_csv(sqlite_app, csv_text(*DEMO_ROWS))
    for user in ("a", "b"):
        guesser = chat_factory(user_id=user)
        await open_status(guesser)
        for day in range(5):
            await check(guesser, "VPO-2026-000123", f"{day + 10}.01.1984")
            clock.advance(minutes=1)
    third = chat_factory(user_id="c")
    await open_status(third)
    await third.says("VPO-2026-000123")  # paused for everyone: not even the date is asked
    third.expect("paused", "Kyiv time")
    third.expect_not("date of birth")
    await check(third, "VPO-2026-000124", "02.07.1979")  # another application is not paused
    third.expect("Status: Documents needed")
    # The owner of that application, a day later, can check it again.
    clock.advance(days=1)
    await third.presses("Check another application")
    await check(third, "VPO-2026-000123", "15.03.1984")
    third.expect("Status: Under review")


async def test_a_refused_number_or_date_says_what_is_wrong(
    chat_factory: Chat, sqlite_app: App
) -> None:
    await import_csv(sqlite_app, csv_text(*DEMO_ROWS))
    chat = chat_factory()
    await open_status(chat)
    await chat.says("VPO-2026-000123-2026-000123-0001")
    chat.expect("too long", "at most 24")
    await chat.says("V-12")
    chat.expect("too short")
    await chat.says("VPO-2026-000123")
    await chat.says("31.02.1984")
    chat.expect("no such date", "day and the month")
    await chat.says("15.03.2030")
    chat.expect("in the future")
    await chat.says("15.03.1850")
    chat.expect("too long ago")
    await chat.says("fifteenth of March")
    chat.expect("could not read")
    await chat.says("15.03.1984")
    chat.expect("Status: Under review")  # none of the refusals counted as a try
