"""Buttons in bot-initiated messages ("o:<dialog>:<step>") open only the steps a dialog allows."""

from __future__ import annotations

from collections.abc import Callable

from bot.engine import Context, Dialog, Step
from bot.engine.globals import open_payload, parse_open
from handlers.conversation import Conversation
from tests.conftest import onboard

Chat = Callable[..., Conversation]

notices = Dialog("notices", entry_steps=("inbox",))
secret = Dialog("secret", staff_only=True, entry_steps=("vault",))


@notices.step("start")
class Start(Step):
    async def show(self, ctx: Context) -> None:
        ctx.ask("Notices: start")


@notices.step("inbox")
class Inbox(Step):
    async def show(self, ctx: Context) -> None:
        ctx.ask("Notices: inbox")


@notices.step("hidden")
class Hidden(Step):
    async def show(self, ctx: Context) -> None:
        ctx.ask("Notices: hidden")


@secret.step("vault")
class Vault(Step):
    async def show(self, ctx: Context) -> None:
        ctx.ask("Staff vault")


def test_payload_round_trip() -> None:
    assert parse_open(open_payload("booking", "mine")) == ("booking", "mine")
    assert parse_open("o:booking") is None
    assert parse_open("g:menu") is None


async def test_an_allowed_step_opens_from_anywhere(chat_factory: Chat) -> None:
    chat = chat_factory()
    chat.engine.dialogs.register(notices, secret)
    await onboard(chat, "en")
    await chat.presses("Contacts")
    await chat.presses_payload(open_payload("notices", "inbox"))
    chat.expect("Notices: inbox")


async def test_other_steps_and_staff_dialogs_do_not_open(chat_factory: Chat) -> None:
    chat = chat_factory()
    chat.engine.dialogs.register(notices, secret)
    await onboard(chat, "en")
    await chat.presses_payload(open_payload("notices", "hidden"))
    chat.expect("earlier message")
    chat.expect_not("Notices: hidden")
    await chat.presses_payload(open_payload("secret", "vault"))
    chat.expect_not("Staff vault")
    await chat.presses_payload(open_payload("nowhere", "start"))
    chat.expect("earlier message")


async def test_onboarding_comes_first(chat_factory: Chat) -> None:
    chat = chat_factory()
    chat.engine.dialogs.register(notices)
    await chat.presses_payload(open_payload("notices", "inbox"))
    chat.expect_not("Notices: inbox")
    chat.expect("choose your language")
