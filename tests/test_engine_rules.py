"""The engine's rules: global commands, stale buttons, re-prompts, recovery, exactly-once."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from bot.app import App
from bot.engine import Context, Dialog, Incoming, Kind, Step
from handlers.conversation import Conversation
from storage.models import DialogStateRow
from storage.repositories import People
from tests.conftest import onboard

Chat = Callable[..., Conversation]

# Personal data a person might type; none of it may reach the log.
PHONE = "+380671234567"
APPLICATION = "VPO-2026-000123"
BIRTH_DATE = "1984-03-15"
SECRET_TEXT = f"my phone {PHONE}, application {APPLICATION}, born {BIRTH_DATE}"


async def at_delete_confirmation(chat: Conversation, language: str = "en") -> None:
    await onboard(chat, language)
    await chat.presses("My data" if language == "en" else "Мої дані")
    await chat.presses("Delete my data" if language == "en" else "Видалити")
    chat.expect("cannot be undone" if language == "en" else "не можна скасувати")


# -- global commands ----------------------------------------------------------


# Building an app loads the service data, so each table runs in one app, a person per row.
ENGLISH_GLOBALS = [
    ("/start", "Welcome back.*Main menu"),
    ("/menu", "Main menu"),
    ("/cancel", "Cancelled.*Main menu"),
    ("/language", "choose your language"),
    ("/help", "Help.*1545"),
    ("/menu@PoruchBot", "Main menu"),
    ("menu", "Main menu"),
    ("Main Menu!", "Main menu"),
    ("cancel", "Cancelled.*Main menu"),
    ("language", "choose your language"),
    ("help", "Help.*1545"),
    ("back", "What I store about you"),
]
UKRAINIAN_GLOBALS = [
    ("меню", "Головне меню"),
    ("Головне меню", "Головне меню"),
    ("скасувати", "Скасовано.*Головне меню"),
    ("мова", "Оберіть мову"),
    ("допомога", "Допомога.*1545"),
    ("назад", "Що я зберігаю про вас"),
    ("/help", "Допомога.*1545"),
]


@pytest.mark.parametrize(
    ("language", "table", "still_asking"),
    [("en", ENGLISH_GLOBALS, "cannot be undone"), ("uk", UKRAINIAN_GLOBALS, "не можна скасувати")],
)
async def test_global_commands_and_words_work_from_a_dialog_step(
    chat_factory: Chat, language: str, table: list[tuple[str, str]], still_asking: str
) -> None:
    for number, (command, expected) in enumerate(table):
        chat = chat_factory(user_id=f"{language}-{number}")
        await at_delete_confirmation(chat, language)
        await chat.says(command)
        try:
            chat.expect(expected)
            chat.expect_not(still_asking, "Sorry", "Вибачте")
        except AssertionError as exc:
            raise AssertionError(f"{command!r}: {exc}") from None


async def test_global_buttons_work_like_commands(chat_factory: Chat) -> None:
    chat = chat_factory()
    await at_delete_confirmation(chat)
    await chat.presses_payload("g:help")
    chat.expect("Help", buttons=["Continue where I was", "Main menu"])
    await chat.presses("Continue where I was")
    chat.expect("cannot be undone", buttons=["Yes, delete everything", "Back", "Menu"])
    await chat.presses("Menu")
    chat.expect("Main menu")


async def test_onboarding_cannot_be_skipped_with_global_commands(chat_factory: Chat) -> None:
    chat = chat_factory()
    await chat.says("/menu")
    chat.expect("choose your language")
    for skip in ("/menu", "menu", "/cancel", "/start", "/unknown"):
        await chat.says(skip)
        chat.expect("choose your language")
        chat.expect_not("Main menu")
    await chat.presses("English")
    chat.expect("What I store")
    for skip in ("/menu", "menu", "/cancel", "/start", "back"):
        await chat.says(skip)
        chat.expect("What I store", buttons=["I agree"])
        chat.expect_not("Main menu")
    await chat.says("/help")
    chat.expect("Help")
    await chat.presses("Continue where I was")
    chat.expect("What I store")
    await chat.presses("I agree")
    chat.expect("Main menu")


async def test_unknown_command_inside_a_step_reshows_it(chat_factory: Chat) -> None:
    chat = chat_factory()
    await at_delete_confirmation(chat)
    await chat.says("/frobnicate")
    chat.expect("do not know this command", "cannot be undone")


# -- stale buttons, re-prompts --------------------------------------------------


async def test_stale_button_is_answered_and_the_current_question_repeated(
    chat_factory: Chat,
) -> None:
    chat = chat_factory()
    await onboard(chat)
    await chat.presses("Contacts")
    contacts_menu = chat.payload_of("Menu")
    await chat.presses("Menu")
    await chat.presses("My data")
    old_delete = chat.payload_of("Delete my data")
    await chat.presses("Delete my data")
    await chat.presses_payload(old_delete)  # pressed again on the older message
    chat.expect("earlier message", "cannot be undone", buttons=["Yes, delete everything"])
    await chat.presses_payload("m:contacts")  # a menu button from long ago
    chat.expect("earlier message", "cannot be undone")
    await chat.presses_payload(contacts_menu)  # globals are never stale
    chat.expect("Main menu")


async def test_invalid_text_is_reprompted_in_the_persons_language(chat_factory: Chat) -> None:
    chat = chat_factory()
    await at_delete_confirmation(chat, "uk")
    await chat.says("так, мабуть")
    chat.expect("Будь ласка, оберіть одну з кнопок", "не можна скасувати")
    chat.expect_not("Please choose")
    english = chat_factory(user_id="2")
    await at_delete_confirmation(english, "en")
    await english.says("maybe")
    english.expect("Please choose one of the buttons", "cannot be undone")


async def test_three_failures_offer_help_and_menu_then_count_again(chat_factory: Chat) -> None:
    chat = chat_factory()
    await at_delete_confirmation(chat, "uk")
    for attempt in range(1, 7):
        await chat.says("що?")
        chat.expect("оберіть одну з кнопок")
        if attempt % 3 == 0:
            chat.expect("Щось не виходить", buttons=["Допомога", "Головне меню"])
        else:
            chat.expect_not("Щось не виходить")
    await chat.presses("Головне меню")
    chat.expect("Головне меню")


async def test_a_good_answer_resets_the_failure_count(chat_factory: Chat) -> None:
    chat = chat_factory()
    await onboard(chat)
    await chat.says("blah")
    await chat.says("blah")
    await chat.presses("My data")
    await chat.says("blah")
    chat.expect_not("Having trouble")


async def test_unsupported_content_inside_a_step(chat_factory: Chat) -> None:
    chat = chat_factory()
    await at_delete_confirmation(chat)
    await chat.sends_sticker()
    chat.expect("text and buttons", "cannot be undone")
    await chat.shares_location(50.45, 30.52)
    chat.expect("choose one of the buttons", "cannot be undone")


# -- unexpected errors ----------------------------------------------------------


def exploding_dialog(where: str) -> Dialog:
    """A test-only dialog that fails with the person's words in the exception message."""
    dialog = Dialog("contacts")

    @dialog.step("ask")
    class Ask(Step):
        async def show(self, ctx: Context) -> None:
            if where == "show":
                raise RuntimeError(f"cannot show for {SECRET_TEXT}")
            ctx.ask("Type anything")

        async def handle(self, ctx: Context, event: Incoming) -> None:
            raise ValueError(f"cannot parse {event.text!r}")

    return dialog


@pytest.mark.parametrize("where", ["show", "handle"])
async def test_error_inside_a_dialog_apologises_shows_menu_and_logs_no_personal_data(
    sqlite_app: App, caplog: pytest.LogCaptureFixture, where: str
) -> None:
    sqlite_app.engine.dialogs.register(exploding_dialog(where))
    chat = Conversation(sqlite_app.engine)
    await onboard(chat, "uk")
    caplog.set_level(logging.INFO)
    for ours in ("bot", "dialogs", "handlers", "storage"):
        caplog.set_level(logging.DEBUG, logger=ours)
    await chat.presses("Контакти")
    if where == "handle":
        chat.expect("Type anything")
        await chat.says(SECRET_TEXT)
    chat.expect("Вибачте", "Головне меню", buttons=["Мої дані"])
    assert sqlite_app.metrics.dialog_errors._value.get() == 1
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors, "the failure must be logged"
    logged = caplog.text + "".join(str(r.args) + str(r.exc_info) for r in caplog.records)
    for private in (PHONE, "0671234567", APPLICATION, BIRTH_DATE, "anything", "cannot"):
        assert private not in logged
    assert "RuntimeError" in logged or "ValueError" in logged
    # The person carries on normally afterwards.
    await chat.presses("Мої дані")
    chat.expect("Що я зберігаю про вас")


async def test_error_recovery_keeps_the_onboarding_gate(sqlite_app: App) -> None:
    broken_privacy = Dialog("privacy")

    @broken_privacy.step("notice")
    class Notice(Step):
        async def show(self, ctx: Context) -> None:
            raise RuntimeError("broken notice")

    sqlite_app.engine.dialogs.register(broken_privacy)
    chat = Conversation(sqlite_app.engine, language_code="en")
    await chat.says("/start")
    await chat.presses("English")
    # The notice cannot be shown; the person must not land in the menu without it.
    chat.expect("Sorry, something went wrong", "choose your language")
    chat.expect_not("What do you need")


async def test_database_failure_still_answers(sqlite_app: App) -> None:
    # Without the database the person's language is unknown: the messenger's hint decides.
    chat = Conversation(sqlite_app.engine, language_code="en")
    await onboard(chat)
    await sqlite_app.db.dispose()
    sqlite_app.db.engine.pool._creator = _refuse  # type: ignore[assignment]
    await chat.says("menu")
    chat.expect("unavailable right now")


def _refuse() -> object:
    raise OSError("database is gone")


# -- exactly once -----------------------------------------------------------------


async def state_version(app: App, user_id: str = "1") -> int:
    async with app.db.transaction() as session:
        person = await People(session).find("test", user_id)
        assert person is not None
        row = await session.get(DialogStateRow, person.id)
        assert row is not None
        return row.version


async def test_redelivered_event_is_handled_once(app: App) -> None:
    chat = Conversation(app.engine)
    await onboard(chat)
    press = Incoming("test", "1", Kind.BUTTON, payload="m:data", event_id="upd-1")
    first = await app.engine.handle(press)
    assert "What I store about you" in first[0].full_text()
    version = await state_version(app)
    assert await app.engine.handle(press) == []
    assert await state_version(app) == version
    # The same id on another platform is another delivery.
    other = Incoming("viber", "1", Kind.TEXT, text="hi", event_id="upd-1")
    assert await app.engine.handle(other)
    # A new id is handled.
    again = Incoming("test", "1", Kind.BUTTON, payload="delete", event_id="upd-2")
    assert "cannot be undone" in (await app.engine.handle(again))[0].text
    assert await state_version(app) == version + 1


async def test_failed_event_is_not_retried_into_a_second_apology(sqlite_app: App) -> None:
    sqlite_app.engine.dialogs.register(exploding_dialog("handle"))
    chat = Conversation(sqlite_app.engine)
    await onboard(chat)
    await chat.presses("Contacts")
    event = Incoming("test", "1", Kind.TEXT, text="boom", event_id="upd-9")
    assert "Sorry" in (await sqlite_app.engine.handle(event))[0].text
    assert await sqlite_app.engine.handle(event) == []
    assert sqlite_app.metrics.dialog_errors._value.get() == 1
