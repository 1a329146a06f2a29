"""Telegram updates → engine `Incoming` → replies, on aiogram 3.

The adapter decides nothing: it translates an update into an event, hands it
to the engine, and sends what comes back. Each update runs in its own task,
so one person's slow answer never holds up anyone else's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from aiogram import Bot, Dispatcher, F, Router
from aiogram.enums import ChatType
from aiogram.types import CallbackQuery, Message, TelegramObject, Update, User

from bot.app import App
from bot.delivery.messenger import Outcome
from bot.engine.events import Incoming, Kind, Reply
from bot.engine.globals import Global
from bot.engine.locks import KeyedLocks
from bot.i18n import Translator, pick_language, translator
from bot.services.cases.notify import answer_from_staff_chat
from handlers.telegram.commands import register_commands
from handlers.telegram.messenger import PLATFORM, TelegramMessenger, error_code
from storage.repositories import People

log = logging.getLogger(__name__)

POLLING_TIMEOUT = 25  # seconds a getUpdates call waits on the server for news
MAX_CONCURRENT_UPDATES = 200  # beyond this, polling waits: memory stays bounded under a flood
DRAIN_TIMEOUT = 10.0  # on shutdown, how long answers being written may take to finish
RESTART_DELAY = (1.0, 30.0)  # first and longest wait before polling or setWebhook is retried

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class Progress:
    """Which updates have been handled to the end (replies sent), newest last.

    Lets a caller (the tests, a benchmark) wait until a given update is answered.
    """

    def __init__(self, keep: int = 4096) -> None:
        self._done: deque[int] = deque(maxlen=keep)
        self._changed = asyncio.Condition()

    async def mark(self, update_id: int) -> None:
        async with self._changed:
            self._done.append(update_id)
            self._changed.notify_all()

    async def wait(self, update_id: int, times: int = 1) -> None:
        """Until the update has been handled `times` times (a redelivery counts again)."""
        async with self._changed:
            await self._changed.wait_for(lambda: self._done.count(update_id) >= times)


class TelegramAdapter:
    def __init__(
        self,
        app: App,
        bot: Bot,
        messenger: TelegramMessenger,
        *,
        polling_timeout: int = POLLING_TIMEOUT,
        restart_delay: tuple[float, float] = RESTART_DELAY,
    ) -> None:
        self.app = app
        self.bot = bot
        self.messenger = messenger
        self.polling_timeout = polling_timeout
        self.restart_delay = restart_delay
        self.progress = Progress()
        self.router = Router(name="poruch")
        self.dispatcher = Dispatcher()
        self.dispatcher.include_router(self.router)
        self.dispatcher.update.outer_middleware(self._track)
        self.router.message.register(self._on_group_message, F.chat.type != ChatType.PRIVATE)
        self.router.message.register(self._on_message)
        self.router.callback_query.register(self._on_callback)
        self._chat_locks = KeyedLocks()
        self._inflight: set[asyncio.Task[Any]] = set()
        self._groups_told: set[int] = set()

    # -- running -----------------------------------------------------------------
    async def run_polling(self) -> None:
        """getUpdates until cancelled; then finish the answers being written, and close."""
        try:
            await self._call_quietly("deleteWebhook", self.bot.delete_webhook())
            # In the background: a slow API must not delay the first answers.
            self._spawn(register_commands(self.bot, self.app.settings.default_locale))
            delay = self.restart_delay[0]
            while True:
                polling = asyncio.create_task(
                    self.dispatcher.start_polling(
                        self.bot,
                        polling_timeout=self.polling_timeout,
                        handle_as_tasks=True,
                        tasks_concurrency_limit=MAX_CONCURRENT_UPDATES,
                        handle_signals=False,  # the server owns SIGINT/SIGTERM
                        close_bot_session=False,
                    )
                )
                try:
                    # asyncio.wait, unlike await, does not cancel polling when we are cancelled.
                    await asyncio.wait({polling})
                finally:
                    if not polling.done():
                        await self._stop_polling(polling)
                failure = polling.exception()
                reason = error_code(failure) if failure is not None else "ended"
                log.error("polling stopped (%s); restarting", reason)
                await asyncio.sleep(delay)  # e.g. getMe failed: the API is unreachable
                delay = min(delay * 2, self.restart_delay[1])
        finally:
            await self.close()

    async def _stop_polling(self, polling: asyncio.Task[None]) -> None:
        try:
            await self.dispatcher.stop_polling()
        except RuntimeError:  # it had not started yet
            polling.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await polling

    async def run_webhook(self, url: str, secret: str) -> None:
        """Register the webhook (retrying until Telegram accepts it), then wait to be cancelled."""
        try:
            delay = self.restart_delay[0]
            while True:
                try:
                    await self.bot.set_webhook(
                        url=url,
                        secret_token=secret,
                        allowed_updates=self.dispatcher.resolve_used_update_types(),
                    )
                    break
                except Exception as exc:
                    log.error("setWebhook failed (%s); retrying", error_code(exc))
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self.restart_delay[1])
            log.info("Telegram webhook registered")
            self._spawn(register_commands(self.bot, self.app.settings.default_locale))
            await asyncio.Event().wait()
        finally:
            await self.close()

    def feed_in_background(self, update: Update) -> None:
        """Handle a webhook update in its own task; Telegram gets its 200 at once."""
        self._spawn(self._feed(update))

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(work)
        self._inflight.add(task)  # a strong reference, and `close` waits for it
        task.add_done_callback(self._inflight.discard)

    async def _feed(self, update: Update) -> None:
        try:
            await self.dispatcher.feed_update(self.bot, update)
        except Exception as exc:
            log.error("update %s failed: %s", update.update_id, type(exc).__name__)

    async def close(self) -> None:
        current = asyncio.current_task()
        pending = {task for task in self._inflight if task is not current and not task.done()}
        if pending:
            _, late = await asyncio.wait(pending, timeout=DRAIN_TIMEOUT)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        await self.bot.session.close()

    async def _call_quietly(self, name: str, call: Awaitable[Any]) -> None:
        try:
            await call
        except Exception as exc:
            log.warning("%s failed: %s", name, error_code(exc))

    async def _track(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        task = asyncio.current_task()
        if task is not None:
            self._inflight.add(task)
        try:
            return await handler(event, data)
        finally:
            if task is not None:
                self._inflight.discard(task)
            if isinstance(event, Update):
                await self.progress.mark(event.update_id)

    # -- updates -------------------------------------------------------------------
    async def _on_message(self, message: Message, event_update: Update) -> None:
        sender = message.from_user
        if sender is None or sender.is_bot:
            return
        event = self._event(sender, event_update, Kind.TEXT)
        if message.contact is not None:
            if message.contact.user_id != sender.id:
                return await self._refuse_contact(message.chat.id, event)
            event = self._event(
                sender, event_update, Kind.CONTACT, phone=message.contact.phone_number
            )
        elif message.location is not None:
            event = self._event(
                sender,
                event_update,
                Kind.LOCATION,
                latitude=message.location.latitude,
                longitude=message.location.longitude,
            )
        elif message.text is not None:
            kind = Kind.COMMAND if message.text.startswith("/") else Kind.TEXT
            event = self._event(sender, event_update, kind, text=message.text)
        else:  # stickers, photos, voice …: the engine answers politely
            event = self._event(sender, event_update, Kind.UNSUPPORTED)
        await self._converse(message.chat.id, event)

    async def _on_callback(self, query: CallbackQuery, event_update: Update) -> None:
        # Answer first: the spinner on the person's button stops even if the rest is slow.
        await self._call_quietly("answerCallbackQuery", query.answer())
        chat = query.message.chat if query.message is not None else None
        if chat is None or chat.type != ChatType.PRIVATE or query.data is None:
            return
        event = self._event(query.from_user, event_update, Kind.BUTTON, payload=query.data)
        await self._converse(chat.id, event)

    async def _on_group_message(self, message: Message, event_update: Update) -> None:
        """Dialogs run in private chats only; a group hears that once."""
        chat_id = message.chat.id
        if chat_id == self.app.settings.staff_chat_id:
            return await self._on_staff_chat(message, event_update)
        if chat_id in self._groups_told:
            return
        self._groups_told.add(chat_id)
        self.app.metrics.updates.labels(PLATFORM, "group").inc()
        tr = self._translator_for(message.from_user)
        username = await self._username()
        text = (
            tr._(
                "I answer only in a private chat, so that what you tell me stays between us. "
                "Please write to me directly: @{username}",
                username=username,
            )
            if username
            else tr._(
                "I answer only in a private chat, so that what you tell me stays between us. "
                "Please write to me directly."
            )
        )
        await self._send(chat_id, None, [Reply(text=text)])

    async def _on_staff_chat(self, message: Message, event_update: Update) -> None:
        """STAFF_CHAT_ID: a reply to a case's post answers the person (docs/cases.md)."""
        original = message.reply_to_message
        if original is None or message.from_user is None or message.text is None:
            return
        ack = await answer_from_staff_chat(
            self.app,
            update_id=str(event_update.update_id),
            post=str(original.message_id),
            user_id=str(message.from_user.id),
            text=message.text,
        )
        if ack:
            await self.messenger.send(message.chat.id, [Reply(text=ack)])

    async def _refuse_contact(self, chat_id: int, event: Incoming) -> None:
        """Someone else's contact is never stored; the person is asked again for their own."""
        self.app.metrics.updates.labels(PLATFORM, "foreign_contact").inc()
        async with self._chat_locks.hold(chat_id):
            # RESUME re-shows the current question (and its share button) after the refusal.
            resume = Incoming(
                platform=PLATFORM,
                user_id=event.user_id,
                kind=Kind.BUTTON,
                payload=Global.RESUME.value,
                language_code=event.language_code,
                event_id=event.event_id,
            )
            replies = await self.app.engine.handle(resume)
            if not replies:  # a redelivered update, answered already
                return
            tr = translator(await self._locale_of(event))
            refusal = Reply(
                text=tr._(
                    "This is someone else's contact. I can only take your own number: "
                    "please press the button to share it."
                )
            )
            await self._send(chat_id, event.user_id, [refusal, *replies])

    async def _converse(self, chat_id: int, event: Incoming) -> None:
        # Replies leave in the order the person wrote: one update per chat at a time.
        async with self._chat_locks.hold(chat_id):
            replies = await self.app.engine.handle(event)
            await self._send(chat_id, event.user_id, replies)

    async def _send(self, chat_id: int, user_id: str | None, replies: list[Reply]) -> None:
        if not replies:
            return
        result = await self.messenger.send(chat_id, replies)
        if result.outcome is Outcome.BLOCKED and user_id is not None:
            # Until they write again (the engine's touch makes them reachable).
            async with self.app.db.transaction() as session:
                await People(session).mark_unreachable(PLATFORM, user_id)

    # -- helpers -------------------------------------------------------------------
    @staticmethod
    def _event(sender: User, update: Update, kind: Kind, **values: Any) -> Incoming:
        return Incoming(
            platform=PLATFORM,
            user_id=str(sender.id),
            kind=kind,
            language_code=sender.language_code,
            event_id=str(update.update_id),
            **values,
        )

    def _translator_for(self, user: User | None) -> Translator:
        language_code = user.language_code if user is not None else None
        return translator(pick_language(language_code, self.app.settings.default_locale))

    async def _locale_of(self, event: Incoming) -> str:
        async with self.app.db.transaction() as session:
            person = await People(session).find(PLATFORM, event.user_id)
        if person is not None and person.locale:
            return person.locale
        return pick_language(event.language_code, self.app.settings.default_locale)

    async def _username(self) -> str | None:
        try:
            return (await self.bot.me()).username
        except Exception as exc:
            log.warning("getMe failed: %s", error_code(exc))
            return None
