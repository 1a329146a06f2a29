"""A new process on the same database continues every conversation (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from bot.app import App, build_app
from handlers.conversation import Conversation
from storage.repositories import People
from tests.conftest import Clock, make_settings, onboard

Restart = Callable[[], Awaitable[App]]


@pytest.fixture
async def restart(app: App, clock: Clock) -> AsyncIterator[Restart]:
    """Stop the running app and start a fresh one (new engine, pools, locks) on its database."""
    started: list[App] = []

    async def again() -> App:
        await (started[-1] if started else app).close()
        fresh = await build_app(
            make_settings(app.settings.database_url), migrate=False, clock=clock
        )
        started.append(fresh)
        return fresh

    yield again
    for fresh in started:
        await fresh.close()


async def at_delete_confirmation(app: App, user_id: str, language: str) -> None:
    chat = Conversation(app.engine, user_id=user_id)
    await onboard(chat, language)
    await chat.presses("My data" if language == "en" else "Мої дані")
    await chat.presses("Delete my data" if language == "en" else "Видалити мої дані")
    chat.expect("cannot be undone" if language == "en" else "не можна скасувати")


async def test_delete_confirmation_survives_a_restart(app: App, restart: Restart) -> None:
    await at_delete_confirmation(app, "anna", "uk")
    await at_delete_confirmation(app, "bob", "en")

    fresh = await restart()
    # Pressed on the message sent before the restart: still the current question.
    anna = Conversation(fresh.engine, user_id="anna")
    await anna.presses_payload("yes")
    anna.expect("видалив")
    bob = Conversation(fresh.engine, user_id="bob")
    await bob.says("no, keep it")  # a typed label of the button offered before the restart
    bob.expect("Nothing was deleted", "Main menu")

    async with fresh.db.transaction() as session:
        assert await People(session).find("test", "anna") is None
        bob_row = await People(session).find("test", "bob")
        assert bob_row is not None and bob_row.locale == "en" and bob_row.privacy_version == 1


async def test_back_history_and_language_survive_restarts(app: App, restart: Restart) -> None:
    await at_delete_confirmation(app, "1", "uk")
    fresh = await restart()
    chat = Conversation(fresh.engine)
    await chat.says("назад")
    chat.expect("Що я зберігаю про вас")

    fresh = await restart()
    chat = Conversation(fresh.engine)
    await chat.says("що?")  # still Ukrainian, still the same screen
    chat.expect("Будь ласка, оберіть одну з кнопок", "Що я зберігаю про вас")
    await chat.presses("Видалити мої дані")
    chat.expect("не можна скасувати")


async def test_failure_count_survives_a_restart(app: App, restart: Restart) -> None:
    chat = Conversation(app.engine)
    await onboard(chat)
    await chat.says("blah")
    await chat.says("blah")
    chat.expect_not("Having trouble")
    fresh = await restart()
    chat = Conversation(fresh.engine)
    await chat.says("blah")
    chat.expect("Having trouble", buttons=["Help", "Main menu"])
