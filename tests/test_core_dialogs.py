"""First contact, menu, language, help, my data — through the conversation adapter."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from bot.app import App
from handlers.conversation import Conversation
from storage.models import DialogStateRow, Person
from tests.conftest import onboard

Chat = Callable[..., Conversation]


async def test_first_contact_asks_language_then_privacy_then_menu(chat_factory: Chat) -> None:
    chat = chat_factory()
    await chat.says("привіт")
    chat.expect("Оберіть мову", "choose your language", buttons=["Українська", "English"])
    await chat.presses("English")
    chat.expect("What I store", buttons=["I agree", "delete my data"])
    await chat.presses("I agree")
    chat.expect("Main menu", buttons=["Check eligibility", "Contacts"])


async def test_first_contact_in_ukrainian(chat_factory: Chat) -> None:
    chat = chat_factory()
    await chat.says("/start")
    await chat.presses("Українська")
    chat.expect("Що я зберігаю", buttons=["Погоджуюся"])
    await chat.presses("Погоджуюся")
    chat.expect("Головне меню", buttons=["Перевірити право"])


async def test_language_screen_keeps_one_order_of_options(chat_factory: Chat) -> None:
    """The options never swap places: not by the messenger's hint, not after a change."""
    orders = []
    for user_id, hint in (("1", "en-GB"), ("2", "uk")):
        chat = chat_factory(user_id=user_id, language_code=hint)
        await chat.says("/start")
        orders.append(chat.buttons[:2])
        await chat.presses("English")
        await chat.presses("I agree")
        await chat.says("/language")
        orders.append(chat.buttons[:2])
    assert orders == [["🇺🇦 Українська", "🇬🇧 English"]] * 4


async def test_language_can_be_changed_any_time(chat_factory: Chat) -> None:
    chat = chat_factory()
    await onboard(chat, "en")
    await chat.says("/language")
    await chat.presses("Українська")
    chat.expect("Головне меню")
    await chat.says("мова")
    await chat.presses("English")
    chat.expect("Main menu")


async def test_contacts_show_hotlines(chat_factory: Chat) -> None:
    chat = chat_factory()
    await onboard(chat, "en")
    await chat.presses("Contacts")
    chat.expect("1545", "0 800 503 753", "Ministry of Social Policy, Family and Unity")
    # no official source gives the 1545 phone line's hours (benefits-review-2026.md)
    chat.expect_not("Mon–Thu")


async def test_help_and_resume(chat_factory: Chat) -> None:
    chat = chat_factory()
    await onboard(chat, "en")
    await chat.presses("My data")
    await chat.says("/help")
    chat.expect("Help", buttons=["Continue where I was", "Main menu"])
    await chat.presses("Continue where I was")
    chat.expect("What I store about you")


async def test_stale_button_is_answered_helpfully(chat_factory: Chat) -> None:
    chat = chat_factory()
    await onboard(chat, "en")
    delete_payload = None
    await chat.presses("My data")
    delete_payload = chat.payload_of("Delete my data")
    await chat.says("/menu")
    await chat.presses_payload(delete_payload)
    chat.expect("earlier message", "Main menu")


async def test_forged_payload_cannot_jump(chat_factory: Chat) -> None:
    chat = chat_factory()
    await onboard(chat, "en")
    await chat.presses_payload("yes")  # the confirm-delete payload, never offered here
    chat.expect("earlier message")
    await chat.presses("My data")
    chat.expect("Messenger")


async def test_three_invalid_inputs_offer_help(chat_factory: Chat) -> None:
    chat = chat_factory()
    await onboard(chat, "en")
    for _ in range(2):
        await chat.says("blah")
        chat.expect("choose one of the buttons")
        chat.expect_not("Having trouble")
    await chat.says("blah")
    chat.expect("Having trouble", buttons=["Help", "Main menu"])


async def test_typed_label_counts_as_press(chat_factory: Chat) -> None:
    chat = chat_factory()
    await onboard(chat, "en")
    await chat.says("☎️ contacts & hotlines")
    chat.expect("1545")


async def test_unsupported_content_gets_polite_reply(chat_factory: Chat) -> None:
    chat = chat_factory()
    await onboard(chat, "en")
    await chat.sends_sticker()
    chat.expect("text and buttons", "Main menu")


async def test_unknown_command(chat_factory: Chat) -> None:
    chat = chat_factory()
    await onboard(chat, "en")
    await chat.says("/frobnicate")
    chat.expect("do not know this command", "Main menu")


async def test_my_data_lists_and_deletes(chat_factory: Chat) -> None:
    chat = chat_factory()
    await onboard(chat, "en")
    await chat.presses("My data")
    chat.expect("Messenger: Test", "Language: English", "Privacy notice version 1")
    await chat.presses("Delete my data")
    chat.expect("cannot be undone")
    await chat.presses("No, keep it")
    chat.expect("Nothing was deleted")
    await chat.presses("My data")
    await chat.presses("Delete my data")
    await chat.presses("Yes, delete everything")
    chat.expect("deleted what I stored")
    await chat.says("hello")
    chat.expect("Оберіть мову")


async def test_announcements_toggle(chat_factory: Chat) -> None:
    chat = chat_factory()
    await onboard(chat, "en")
    await chat.presses("My data")
    await chat.presses("Stop announcements")
    await chat.presses("No, leave as it is")
    chat.expect("Nothing was changed", "Announcements: yes")
    await chat.presses("Stop announcements")
    await chat.presses("Yes, stop announcements")
    chat.expect("no more announcements", "in “My data”", "Main menu")
    await chat.presses("My data")
    chat.expect("Announcements: no", buttons=["Receive announcements"])
    await chat.presses("Receive announcements")
    await chat.presses("Yes, receive them")
    chat.expect("you will receive announcements")


async def test_declining_privacy_erases(chat_factory: Chat, sqlite_app: App) -> None:
    """The seam between the privacy dialog and `erase_person`: the rows are gone."""
    await onboard(chat_factory("2"), "en")  # someone else, who stays
    chat = chat_factory("1")
    await chat.says("/start")
    await chat.presses("English")
    assert await stored_for(sqlite_app, "1") == (1, 1)  # registered, on the notice
    await chat.presses("No, delete my data")
    chat.expect("deleted what I stored")
    assert await stored_for(sqlite_app, "1") == (0, 0)
    assert await stored_for(sqlite_app, "2") == (1, 1)


async def stored_for(app: App, user_id: str) -> tuple[int, int]:
    """How many person rows and dialog states one user of the test chat has."""
    async with app.db.transaction() as session:
        person = await session.scalar(
            select(Person).where(Person.platform == "test", Person.platform_user_id == user_id)
        )
        if person is None:
            return 0, 0
        states = await session.scalar(
            select(func.count())
            .select_from(DialogStateRow)
            .where(DialogStateRow.person_id == person.id)
        )
    return 1, int(states or 0)


@pytest.mark.parametrize(
    ("language", "decline", "contacts", "about", "start"),
    [
        ("en", "No, delete my data", "Contacts", "About", "Start again"),
        ("uk", "Ні, видалити мої дані", "Контакти", "Про бота", "Почати знову"),
    ],
)
async def test_after_declining_contacts_and_about_can_be_read_storing_nothing(
    chat_factory: Chat,
    sqlite_app: App,
    language: str,
    decline: str,
    contacts: str,
    about: str,
    start: str,
) -> None:
    chat = chat_factory()
    await chat.says("/start")
    await chat.presses("English" if language == "en" else "Українська")
    await chat.presses(decline)
    await chat.presses(contacts)
    chat.expect("1545", "0 800 503 753", "112", buttons=[about, start])
    assert await stored(sqlite_app) == (0, 0)
    await chat.presses(about)
    chat.expect("Poruch" if language == "en" else "Поруч", buttons=[contacts, start])
    assert await stored(sqlite_app) == (0, 0)
    await chat.presses(start)
    chat.expect("Оберіть мову")  # from the beginning: nothing was kept


async def stored(app: App) -> tuple[int, int]:
    async with app.db.transaction() as session:
        people = await session.scalar(select(func.count()).select_from(Person))
        states = await session.scalar(select(func.count()).select_from(DialogStateRow))
    return int(people or 0), int(states or 0)


async def test_back_returns_to_previous_step(chat_factory: Chat) -> None:
    chat = chat_factory()
    await onboard(chat, "en")
    await chat.presses("My data")
    await chat.presses("Delete my data")
    await chat.presses("Back")
    chat.expect("What I store about you")


async def test_cancel_goes_to_menu(chat_factory: Chat) -> None:
    chat = chat_factory()
    await onboard(chat, "en")
    await chat.presses("My data")
    await chat.says("cancel")
    chat.expect("Cancelled", "Main menu")


async def test_coming_soon_items(chat_factory: Chat) -> None:
    chat = chat_factory()
    await onboard(chat, "en")
    await chat.presses("Check eligibility")
    chat.expect("coming soon|eligib")
