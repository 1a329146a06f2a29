"""Telegram updates → engine `Incoming` → replies, on aiogram 3.

The adapter decides nothing: it translates an update into an event, hands it
to the engine, and sends what comes back. It stores nothing and says nothing of
its own: the texts it sends outside a dialog (a flood warning, "private chats
only", the command menu) come from the engine, the replies kept until sent are
the engine's (`Engine.replies_sent` / `take_unsent`), and a person who blocked
the bot is marked through the `Reachability` port.

Every chat has a lane (`Lane`): its updates go to the engine one at a time in
Telegram's order, and its replies leave one at a time in the same order, on a
sender of their own. An update is confirmed to Telegram (the getUpdates offset,
the webhook's 200) only once its transaction has committed, with its replies
stored beside it until they are sent: a crash loses nothing (docs/architecture.md).
One person's slow answer never holds up anyone else's, and one person's backlog
holds at most one of the engine's slots.

Updates are read from their JSON into the fields the adapter uses (`updates`) and go
straight to `_on_message` / `_on_callback`: aiogram's `Update` models and its
Dispatcher (three middlewares, a router, an FSM storage entry per chat kept for ever)
cost more per update than everything else here, for two handlers that need none of it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Awaitable, Coroutine
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import GetUpdates
from aiohttp import ClientError, ClientTimeout

from bot.delivery.messenger import Outcome
from bot.engine.events import Incoming, Kind, Reply
from bot.engine.platform import Notice
from bot.ports import Reachability
from bot.services.cases.notify import answer_from_staff_chat
from bot.wiring import App
from handlers.telegram.commands import register_commands
from handlers.telegram.messenger import PLATFORM, TelegramMessenger, error_code
from handlers.telegram.updates import (
    ALLOWED_UPDATES,
    BadUpdate,
    Sender,
    TgCallbackQuery,
    TgMessage,
    TgUpdate,
    parse_update,
)

log = logging.getLogger(__name__)

POLLING_TIMEOUT = 25  # seconds a getUpdates call waits on the server for news
MAX_CONCURRENT_UPDATES = 200  # updates in the engine at once; one chat holds at most one
DRAIN_TIMEOUT = 10.0  # on shutdown, how long answers being written may take to finish
RESTART_DELAY = (1.0, 30.0)  # first and longest wait before polling or setWebhook is retried
#: requests Telegram may open to the webhook at once (setWebhook's max_connections: 1-100,
#: 40 when not given). Each is answered only once its update committed, so a crash loses
#: nothing; with more of them open, more updates share a commit (the engine's batches)
#: instead of waiting for a free connection on Telegram's side.
WEBHOOK_CONNECTIONS = 100
#: while an update fetched earlier is still uncommitted, getUpdates is asked again this
#: often (it returns that update again, with anything new behind it)
REPOLL_WHILE_PENDING = 0.05
#: webhook mode: a pressed button's spinner is stopped by the webhook's answer (no
#: request of its own) when its update commits within this many seconds; otherwise
#: by a request then, so a slow database never keeps it spinning longer
ANSWER_IN_RESPONSE_WITHIN = 1.0
#: replies are marked sent in one statement per this many seconds: a transaction of its
#: own per update would cost as much as the update; the price is that a crash may repeat
#: the replies sent in the last second (docs/architecture.md)
SENT_FLUSH_DELAY = 1.0
#: A chat with this many updates and answers queued is flooding: what it sends next is
#: merged into one "please wait" until the queue has drained. Few, because the updates
#: queued behind a chat's slow answer hold back the getUpdates offset for everyone.
FLOOD_BACKLOG = 5
#: Updates written while the bot was down arrive together after a start: a person's
#: few are all answered, in order; only a backlog beyond this is merged.
FLOOD_BACKLOG_AFTER_DOWNTIME = 20


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


@dataclass(slots=True)
class Pending:
    """An update waiting in its chat's lane; `done` is set once its transaction committed."""

    update: TgUpdate
    done: asyncio.Future[bool]
    lane: Lane
    replied: bool = False


@dataclass(slots=True)
class Outgoing:
    chat_id: int
    user_id: str | None
    replies: list[Reply]
    update_id: int | None = None  # for `Progress`
    event_id: str | None = None  # stored with the update until sent


@dataclass(slots=True)
class Lane:
    """One chat: updates to the engine in order, replies out in order."""

    key: int
    inbound: deque[Pending] = field(default_factory=deque)
    outbound: deque[Outgoing] = field(default_factory=deque)
    handling: bool = False
    sending: bool = False
    told_to_wait: bool = False
    merged: int = 0

    @property
    def backlog(self) -> int:
        return len(self.inbound) + len(self.outbound) + self.handling

    @property
    def idle(self) -> bool:
        return not (self.inbound or self.outbound or self.handling or self.sending)


_current: ContextVar[Pending | None] = ContextVar("poruch_telegram_pending", default=None)


def lane_key(update: TgUpdate) -> int:
    """The chat an update belongs to (its lane); an update of no chat gets a lane of its own."""
    if update.message is not None:
        return update.message.chat.id
    query = update.callback_query
    if query is not None:
        if query.chat is not None:
            return query.chat.id
        return query.sender.id
    return -update.update_id


class TelegramAdapter:
    def __init__(
        self,
        app: App,
        bot: Bot,
        messenger: TelegramMessenger,
        reachability: Reachability,
        *,
        polling_timeout: int = POLLING_TIMEOUT,
        restart_delay: tuple[float, float] = RESTART_DELAY,
        concurrency: int = MAX_CONCURRENT_UPDATES,
    ) -> None:
        self.app = app
        self.engine = app.engine
        self.bot = bot
        self.messenger = messenger
        self.reachability = reachability
        self.polling_timeout = polling_timeout
        self.restart_delay = restart_delay
        self.progress = Progress()
        self._lanes: dict[int, Lane] = {}
        self._slots = asyncio.Semaphore(concurrency)
        self._inflight: set[asyncio.Task[Any]] = set()
        self._resender: asyncio.Task[None] | None = None
        self._groups_told: set[int] = set()
        #: callback queries the webhook's answer stops the spinner of (`take_webhook_update`)
        self._answer_in_response: set[str] = set()
        self._sent_ids: list[str] = []
        self._flush_due = False
        self._started = datetime.now(UTC)
        #: a message written before this (Unix time) waited for the bot while it was down
        self._live_since = self._started.timestamp() - 2

    # -- running -----------------------------------------------------------------
    async def run_polling(self) -> None:
        """getUpdates until cancelled; then finish the answers being written, and close."""
        try:
            await self._call_quietly("deleteWebhook", self.bot.delete_webhook())
            await self._start_resending()
            # In the background: a slow API must not delay the first answers.
            self._spawn(
                register_commands(
                    self.bot, self.engine.command_menu, self.app.settings.default_locale
                )
            )
            await self._poll()
        finally:
            await self.close()

    async def _poll(self) -> None:
        """Fetch updates and confirm each one only after its transaction committed.

        Telegram confirms every update below the offset, so the offset stays at the
        oldest update still uncommitted; updates behind it that are in hand already
        are skipped when Telegram returns them again. After a crash, Telegram sends
        again every update whose transaction did not commit.
        """
        request = GetUpdates(timeout=self.polling_timeout, allowed_updates=ALLOWED_UPDATES)
        request_timeout = int((self.bot.session.timeout or 0) + self.polling_timeout)
        in_hand: dict[int, asyncio.Future[bool]] = {}
        delay = self.restart_delay[0]
        while True:
            try:
                updates = await self._fetch(request, request_timeout)
            except Exception as exc:
                log.error("getUpdates failed (%s); retrying", error_code(exc))
                await asyncio.sleep(delay)  # e.g. the API is unreachable
                delay = min(delay * 2, self.restart_delay[1])
                continue
            delay = self.restart_delay[0]
            for raw in updates:
                update_id = int(raw["update_id"])
                if update_id in in_hand or (
                    request.offset is not None and update_id < request.offset
                ):
                    continue  # in hand already: not built again
                try:
                    update = parse_update(raw)
                except BadUpdate:  # never handled, however often it came back
                    log.error("update %s is not a Telegram update; skipped", update_id)
                    continue
                in_hand[update_id] = self.submit(update)
            waiting = [update_id for update_id, done in in_hand.items() if not done.done()]
            if waiting:
                # Asked again now, Telegram would answer at once with the updates in hand
                # (decoded again, for nothing) and little else: wait for the oldest to
                # commit, so the offset moves (or for a moment: news behind a slow update
                # must not wait).
                await asyncio.wait({in_hand[min(waiting)]}, timeout=REPOLL_WHILE_PENDING)
            request.offset = _confirmable(in_hand, request.offset)

    async def _fetch(self, request: GetUpdates, wait: int) -> list[dict[str, Any]]:
        """getUpdates as plain JSON: while an update is uncommitted Telegram returns it
        again on every call, and building aiogram's models for those again and again
        cost more than handling them. Only the fresh ones are built (`_poll`)."""
        session = self.bot.session
        if not isinstance(session, AiohttpSession):
            updates = await self.bot(request)
            return [u.model_dump(mode="json", by_alias=True, exclude_none=True) for u in updates]
        client = await session.create_session()
        url = session.api.api_url(token=self.bot.token, method="getUpdates")
        params: dict[str, Any] = {"timeout": request.timeout}
        if request.offset is not None:
            params["offset"] = request.offset
        if request.allowed_updates is not None:
            params["allowed_updates"] = request.allowed_updates
        try:
            async with client.post(url, json=params, timeout=ClientTimeout(total=wait)) as resp:
                content = await resp.text()
        except (TimeoutError, ClientError) as exc:
            raise TelegramNetworkError(method=request, message=type(exc).__name__) from exc
        body = json.loads(content)
        if resp.status != 200 or not isinstance(body, dict) or not body.get("ok"):
            # aiogram turns the error into its exception (flood control, conflict …)
            session.check_response(
                bot=self.bot, method=request, status_code=resp.status, content=content
            )
            raise TelegramNetworkError(method=request, message="unexpected getUpdates answer")
        result = body.get("result")
        return [u for u in result if isinstance(u, dict)] if isinstance(result, list) else []

    async def run_webhook(self, url: str, secret: str) -> None:
        """Register the webhook (retrying until Telegram accepts it), then wait to be cancelled."""
        try:
            await self._start_resending()
            delay = self.restart_delay[0]
            while True:
                try:
                    await self.bot.set_webhook(
                        url=url,
                        secret_token=secret,
                        allowed_updates=ALLOWED_UPDATES,
                        max_connections=WEBHOOK_CONNECTIONS,
                    )
                    break
                except Exception as exc:
                    log.error("setWebhook failed (%s); retrying", error_code(exc))
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self.restart_delay[1])
            log.info("Telegram webhook registered")
            self._spawn(
                register_commands(
                    self.bot, self.engine.command_menu, self.app.settings.default_locale
                )
            )
            await asyncio.Event().wait()
        finally:
            await self.close()

    # -- lanes -------------------------------------------------------------------------
    def submit(self, update: TgUpdate) -> asyncio.Future[bool]:
        """Queue an update in its chat's lane; the future is set once it has committed."""
        key = lane_key(update)
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = Lane(key)
        pending = Pending(update, asyncio.get_running_loop().create_future(), lane)
        limit = FLOOD_BACKLOG if self._live(update) else FLOOD_BACKLOG_AFTER_DOWNTIME
        if lane.backlog >= limit:
            self._merge(pending)
            return pending.done
        lane.inbound.append(pending)
        if not lane.handling:
            lane.handling = True
            self._spawn(self._work(lane))
        return pending.done

    def _live(self, update: TgUpdate) -> bool:
        """Written while this process runs (not while the bot was down)."""
        message = update.message
        if message is None and update.callback_query is not None:
            return True  # a press on a message this bot sent: no backlog to protect
        return message is None or message.date >= self._live_since

    def _merge(self, pending: Pending) -> None:
        """A flood: this update is not handled; the person is asked once to wait.

        Telegram lets a bot send about one message a second to a chat: answering every
        one of hundreds of messages would take minutes and keep the engine busy for
        nothing. The update is confirmed at once (it changes nothing), so it never
        holds up the offset for everyone else.
        """
        lane, update = pending.lane, pending.update
        lane.merged += 1
        self.app.metrics.updates.labels(PLATFORM, "merged").inc()
        pending.done.set_result(True)
        if update.callback_query is not None:  # the spinner stops all the same
            self._answer_query(update.callback_query)
        if not lane.told_to_wait:
            lane.told_to_wait = True
            sender = update.message.sender if update.message else None
            if update.callback_query is not None:
                sender = update.callback_query.sender
            wait = self.engine.notice(Notice.FLOOD, _language_code(sender))
            lane.outbound.append(Outgoing(lane.key, None, [wait]))
            self._start_sending(lane)
        self._spawn(self.progress.mark(update.update_id))

    async def _work(self, lane: Lane) -> None:
        try:
            while lane.inbound:
                pending = lane.inbound.popleft()
                async with self._slots:
                    token = _current.set(pending)
                    try:
                        committed = await self._feed(pending.update)
                    finally:
                        _current.reset(token)
                if not pending.done.done():
                    pending.done.set_result(committed)
                if not pending.replied:
                    await self.progress.mark(pending.update.update_id)
        finally:
            lane.handling = False
            for pending in lane.inbound:  # cancelled at shutdown: never confirmed
                if not pending.done.done():
                    pending.done.set_result(False)
            lane.inbound.clear()
            self._forget_if_idle(lane)

    async def _feed(self, update: TgUpdate) -> bool:
        try:
            if update.message is not None:
                await self._on_message(update.message, update)
            elif update.callback_query is not None:
                await self._on_callback(update.callback_query, update)
        except Exception as exc:
            log.error("update %s failed: %s", update.update_id, type(exc).__name__)
            return False
        return True

    def _reply(
        self, chat_id: int, user_id: str | None, replies: list[Reply], event_id: str | None
    ) -> None:
        """Queue replies behind the chat's earlier ones; the update's handling is over."""
        if not replies:
            return
        pending = _current.get()
        lane = pending.lane if pending is not None else self._lanes.get(chat_id)
        if lane is None:
            lane = self._lanes[chat_id] = Lane(chat_id)
        update_id = None
        if pending is not None and not pending.replied:
            pending.replied = True
            update_id = pending.update.update_id
        lane.outbound.append(Outgoing(chat_id, user_id, replies, update_id, event_id))
        self._start_sending(lane)

    def _start_sending(self, lane: Lane) -> None:
        if not lane.sending:
            lane.sending = True
            self._spawn(self._send_lane(lane))

    async def _send_lane(self, lane: Lane) -> None:
        try:
            while lane.outbound:
                out = lane.outbound[0]
                try:
                    await self._send(out.chat_id, out.user_id, out.replies)
                except Exception as exc:
                    log.error("sending failed: %s", type(exc).__name__)
                lane.outbound.popleft()
                if out.event_id is not None:
                    self._sent_ids.append(out.event_id)
                    if not self._flush_due:
                        self._flush_due = True
                        self._spawn(self._flush_sent())
                if out.update_id is not None:
                    await self.progress.mark(out.update_id)
        finally:
            lane.sending = False
            self._forget_if_idle(lane)

    def _forget_if_idle(self, lane: Lane) -> None:
        if lane.idle and self._lanes.get(lane.key) is lane:
            if lane.merged:
                log.info("a flood of %d updates in one chat was merged", lane.merged)
            del self._lanes[lane.key]  # memory stays flat

    async def _flush_sent(self) -> None:
        """Clear the stored replies of what was sent: one statement for many updates."""
        await asyncio.sleep(SENT_FLUSH_DELAY)
        self._flush_due = False
        sent, self._sent_ids = self._sent_ids, []
        try:
            await self.engine.replies_sent(PLATFORM, sent)
        except Exception as exc:  # they stay stored: sent again only after a crash
            log.warning("could not mark replies sent (%s)", type(exc).__name__)

    # -- replies committed but not sent before a crash ----------------------------------
    async def _start_resending(self) -> None:
        """Send what an earlier run committed but did not send, then keep watching.

        SQLite has one bot process: whatever was stored before this start is an orphan.
        On PostgreSQL another worker may still be sending what it stored, so a stored
        reply is taken only once it is older than TELEGRAM_RESEND_AFTER.
        """
        if self.app.settings.is_sqlite:
            await self._resend(self._started)
            return
        # Not one of the in-flight tasks that `close` lets finish: it never finishes.
        self._resender = asyncio.create_task(self._resend_periodically())

    async def _resend_periodically(self) -> None:
        grace = timedelta(seconds=self.app.settings.telegram_resend_after)
        while True:
            cutoff = min(self._started, datetime.now(UTC) - grace)
            await self._resend(cutoff)
            await asyncio.sleep(max(grace.total_seconds() / 2, 0.2))

    async def _resend(self, claimed_before: datetime) -> None:
        try:
            stored = await self.engine.take_unsent(PLATFORM, claimed_before)
        except Exception as exc:
            log.error("could not read unsent replies (%s)", type(exc).__name__)
            return
        for kept in stored:
            try:
                chat_id = int(kept.to)
            except ValueError:
                log.error("a stored reply could not be read; skipped")
                continue
            self._reply(chat_id, None, kept.replies, None)
        if stored:
            log.warning("sending %d answers committed before a restart", len(stored))

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(work)
        self._inflight.add(task)  # a strong reference, and `close` waits for it
        task.add_done_callback(self._inflight.discard)

    async def close(self) -> None:
        resender, self._resender = self._resender, None
        if resender is not None:
            resender.cancel()
            await asyncio.gather(resender, return_exceptions=True)
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

    # -- updates -------------------------------------------------------------------
    async def _on_message(self, message: TgMessage, event_update: TgUpdate) -> None:
        if message.chat.type != ChatType.PRIVATE:
            return await self._on_group_message(message, event_update)
        sender = message.sender
        if sender is None or sender.is_bot:
            return None
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

    async def _on_callback(self, query: TgCallbackQuery, event_update: TgUpdate) -> None:
        # Answered beside the handling: the spinner stops even if the rest is slow.
        self._answer_query(query)
        chat = query.chat
        if chat is None or chat.type != ChatType.PRIVATE or query.data is None:
            return
        event = self._event(query.sender, event_update, Kind.BUTTON, payload=query.data)
        await self._converse(chat.id, event)

    def _answer_query(self, query: TgCallbackQuery) -> None:
        if query.id not in self._answer_in_response:
            self._spawn_answer(query.id)

    def _spawn_answer(self, query_id: str) -> None:
        self._spawn(
            self._call_quietly("answerCallbackQuery", self.messenger.answer_callback(query_id))
        )

    async def take_webhook_update(self, update: TgUpdate) -> tuple[bool, dict[str, Any] | None]:
        """Webhook mode: `submit`, and wait for the commit. (Committed?, a Bot API method
        for the webhook's answer.)

        Telegram executes a method returned as the answer to its webhook request. A
        pressed button's answerCallbackQuery goes there: its result is never needed, and
        it saves a request to Telegram on two updates in three (the bot's and Telegram's
        work, and the bot's connections). Should the commit take longer than
        ANSWER_IN_RESPONSE_WITHIN, or fail, the query is answered by a request instead.
        """
        query = update.callback_query
        if query is None:
            return await self.submit(update), None
        self._answer_in_response.add(query.id)
        try:
            done = self.submit(update)
            try:
                committed = await asyncio.wait_for(asyncio.shield(done), ANSWER_IN_RESPONSE_WITHIN)
            except TimeoutError:
                self._spawn_answer(query.id)
                return await done, None
            if not committed:  # Telegram sends it again; the spinner stops meanwhile
                self._spawn_answer(query.id)
                return False, None
            return True, {"method": "answerCallbackQuery", "callback_query_id": query.id}
        finally:
            self._answer_in_response.discard(query.id)

    async def _on_group_message(self, message: TgMessage, event_update: TgUpdate) -> None:
        """Dialogs run in private chats only; a group hears that once."""
        chat_id = message.chat.id
        if chat_id == self.app.settings.staff_chat_id:
            return await self._on_staff_chat(message, event_update)
        if chat_id in self._groups_told:
            return
        self._groups_told.add(chat_id)
        self.app.metrics.updates.labels(PLATFORM, "group").inc()
        language_code = _language_code(message.sender)
        username = await self._username()
        notice = (
            self.engine.notice(Notice.PRIVATE_CHAT_ONLY_NAMED, language_code, username=username)
            if username
            else self.engine.notice(Notice.PRIVATE_CHAT_ONLY, language_code)
        )
        self._reply(chat_id, None, [notice], None)

    async def _on_staff_chat(self, message: TgMessage, event_update: TgUpdate) -> None:
        """STAFF_CHAT_ID: a reply to a case's post answers the person (docs/cases.md)."""
        original = message.reply_to
        if original is None or message.sender is None or message.text is None:
            return
        ack = await answer_from_staff_chat(
            self.app.db,
            self.app.settings,
            self.app.runtime.now(),
            update_id=str(event_update.update_id),
            post=str(original),
            user_id=str(message.sender.id),
            text=message.text,
        )
        if ack:
            await self.messenger.send(message.chat.id, [Reply(text=ack)])

    async def _refuse_contact(self, chat_id: int, event: Incoming) -> None:
        """Someone else's contact is never stored; the person is asked again for their own."""
        self.app.metrics.updates.labels(PLATFORM, "foreign_contact").inc()
        replies = await self.engine.refuse_contact(event)
        self._reply(chat_id, event.user_id, replies, None)

    async def _converse(self, chat_id: int, event: Incoming) -> None:
        # The lane keeps the order: this chat's next update waits for this commit, and
        # the replies queue behind the chat's earlier ones (`_send_lane`).
        replies = await self.engine.handle(event, keep_for=str(chat_id))
        self._reply(chat_id, event.user_id, replies, event.event_id)

    async def _send(self, chat_id: int, user_id: str | None, replies: list[Reply]) -> None:
        if not replies:
            return
        result = await self.messenger.send(chat_id, replies)
        if result.outcome is Outcome.BLOCKED and user_id is not None:
            # Until they write again (the engine's touch makes them reachable).
            await self.reachability.mark_unreachable(PLATFORM, user_id)

    # -- helpers -------------------------------------------------------------------
    @staticmethod
    def _event(sender: Sender, update: TgUpdate, kind: Kind, **values: Any) -> Incoming:
        return Incoming(
            platform=PLATFORM,
            user_id=str(sender.id),
            kind=kind,
            language_code=sender.language_code,
            event_id=str(update.update_id),
            **values,
        )

    async def _username(self) -> str | None:
        try:
            return (await self.bot.me()).username
        except Exception as exc:
            log.warning("getMe failed: %s", error_code(exc))
            return None


def _language_code(user: Sender | None) -> str | None:
    return user.language_code if user is not None else None


def _confirmable(in_hand: dict[int, asyncio.Future[bool]], offset: int | None) -> int | None:
    """The next getUpdates offset: the oldest update not yet committed (or past the newest).

    Updates below it are forgotten; a failed one is forgotten too, so that Telegram's
    copy of it is taken again.
    """
    for update_id in sorted(in_hand):
        future = in_hand[update_id]
        if not future.done():
            return update_id
        del in_hand[update_id]
        if not future.result():
            return update_id  # handed to the engine again when Telegram returns it
        offset = update_id + 1
    return offset
