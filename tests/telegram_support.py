"""The real bot (aiogram, our adapter, the engine, a database) against the Bot API double."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiogram.client.session.aiohttp import AiohttpSession
from aiohttp import web

from bot.app import App, build_app
from bot.engine import Context, Dialog, Incoming, Kind, Request, Step
from bot.server import build_web_app
from handlers.telegram import TELEGRAM_ADAPTER, TelegramAdapter, telegram
from storage.repositories import DialogStates, People
from tests.conftest import make_settings
from tests.doubles.telegram_api import Sent, TelegramApiDouble, TgUser

WAIT = 15.0  # seconds before a missing answer fails the test (never reached when all is well)
WEBHOOK_SECRET = "test-Secret_123"
LONG_TEXT_PARAGRAPH = "Це абзац довгої відповіді, щоб перевірити поділ тексту. " * 10


def aiogram_requests(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The Bot API methods sent through aiogram's own request path, from now on.

    The hot calls (sendMessage, the edits, answerCallbackQuery) go as plain JSON
    (handlers/telegram/lean.py) and never appear here.
    """
    made: list[str] = []
    original = AiohttpSession.make_request

    async def spy(self: AiohttpSession, bot: Any, method: Any, *args: Any, **kwargs: Any) -> Any:
        made.append(method.__api_method__)
        return await original(self, bot, method, *args, **kwargs)

    monkeypatch.setattr(AiohttpSession, "make_request", spy)
    return made


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- a test-only dialog: echoes what a person types, asks for a phone, or waits --------------
echo = Dialog("echo")


@echo.step("say")
class Say(Step):
    back = False

    async def show(self, ctx: Context) -> None:
        ctx.ask("Type anything.", [[ctx.button("Phone", "phone")]])

    async def handle(self, ctx: Context, event: Incoming) -> None:
        if event.kind is Kind.BUTTON and event.payload == "phone":
            return ctx.goto("phone")
        if event.text == "long":
            paragraphs = [f"{i}. {LONG_TEXT_PARAGRAPH}".strip() for i in range(20)]
            ctx.say("\n\n".join(paragraphs))  # about 11,000 characters
            return None
        ctx.say(f"You said: {event.text}", [[ctx.button("Phone", "phone")]])
        return None


@echo.step("phone")
class Phone(Step):
    async def show(self, ctx: Context) -> None:
        ctx.ask("Share your phone, please.", request=Request.PHONE, request_label="📱 Share")

    async def handle(self, ctx: Context, event: Incoming) -> None:
        if event.kind is not Kind.CONTACT:
            return ctx.invalid("Use the share button, please.")
        ctx.say(f"Got {event.phone}.")
        return ctx.goto("say")


@dataclass
class Person:
    """A person talking to the running bot: each action waits until the bot has answered it."""

    bot: RunningBot
    tg: TgUser
    last: list[Sent] = field(default_factory=list)

    async def _act(self, update: Any) -> list[Sent]:
        before = len(self.tg.received)
        update_id = await update
        await self.bot.handled(update_id)
        self.last = self.tg.received_since(before)
        return self.last

    async def says(self, text: str) -> list[Sent]:
        return await self._act(self.tg.says(text))

    async def presses(self, label: str) -> list[Sent]:
        return await self._act(self.tg.presses(label))

    async def shares_contact(self, phone: str, *, owner_id: int | None = None) -> list[Sent]:
        return await self._act(self.tg.shares_contact(phone, owner_id=owner_id))

    async def sends_sticker(self) -> list[Sent]:
        return await self._act(self.tg.sends_sticker())

    async def says_in_group(self, group_id: int, text: str) -> list[Sent]:
        before = len(self.bot.double.sent_to(group_id))
        await self.bot.handled(await self.tg.says_in_group(group_id, text))
        return self.bot.double.sent_to(group_id)[before:]

    @property
    def text(self) -> str:
        return "\n\n".join(message.text for message in self.last)

    @property
    def buttons(self) -> list[str]:
        return [label for message in self.last for label in message.button_labels]

    def expect(self, *patterns: str, buttons: tuple[str, ...] = ()) -> None:
        for pattern in patterns:
            assert re.search(pattern, self.text, re.IGNORECASE | re.DOTALL), (
                f"expected {pattern!r} in:\n{self.text}"
            )
        for label in buttons:
            assert any(label.casefold() in b.casefold() for b in self.buttons), (
                f"no button {label!r} in {self.buttons}"
            )

    async def enter_echo(self) -> None:
        """Put the person in the test-only echo dialog (as if a menu item led there)."""
        async with self.bot.app.db.transaction() as session:
            person = await People(session).find("telegram", str(self.tg.id))
            assert person is not None
            states = DialogStates(session)
            state = await states.load(person.id)
            assert state is not None
            state.dialog, state.step, state.history = "echo", "say", []
            state.offered = {"phone": "phone"}
            await states.save(person.id, state)


@dataclass
class RunningBot:
    app: App
    double: TelegramApiDouble
    adapter: TelegramAdapter
    task: asyncio.Task[None]
    port: int

    def person(self, user_id: int, language_code: str | None = "uk") -> Person:
        return Person(self, self.double.user(user_id, language_code=language_code))

    async def handled(self, update_id: int, times: int = 1) -> None:
        async with asyncio.timeout(WAIT):
            await self.adapter.progress.wait(update_id, times)

    @property
    def webhook_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/telegram/webhook"


@asynccontextmanager
async def running_bot(
    db_url: str, double: TelegramApiDouble, clock: Any, *, mode: str = "polling", **overrides: Any
) -> AsyncIterator[RunningBot]:
    """The bot's web app with the Telegram adapter's job running, as `python -m bot run` has it."""
    port = free_port()
    settings = make_settings(
        db_url,
        telegram_token=double.token,
        telegram_api_base=double.base_url,
        telegram_mode=mode,
        telegram_webhook_secret=WEBHOOK_SECRET,
        public_base_url=f"http://127.0.0.1:{port}",
        http_port=port,
        **overrides,
    )
    app = await build_app(settings, migrate=False, clock=clock)
    app.engine.dialogs.register(echo)
    web_app = build_web_app(app)
    job = await telegram(app, web_app)
    runner = web.AppRunner(web_app, access_log=None, shutdown_timeout=1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    task = asyncio.create_task(job())
    bot = RunningBot(app, double, web_app[TELEGRAM_ADAPTER], task, port)
    try:
        # Started: polling asks for news, or the webhook is set.
        await double.wait_until(lambda: bool(double.calls_of("getUpdates") or double.webhook_url))
        yield bot
    finally:
        task.cancel()
        async with asyncio.timeout(WAIT):
            await asyncio.gather(task, return_exceptions=True)
        await runner.cleanup()
        await app.close()
