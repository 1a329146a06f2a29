"""Sending to Telegram: rendered replies, bounded retries, errors mapped to outcomes.

Two callers share this path. The adapter answers a person and retries here
(429 after `retry_after`, 5xx and network errors with backoff). The outbox
worker calls `deliver` with a single attempt, because it keeps its own retry
schedule and wants the outcome back at once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from aiogram import Bot, methods
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import InlineKeyboardMarkup, LinkPreviewOptions

from bot.delivery.messenger import DeliveryResult, Outcome
from bot.engine.events import Reply
from bot.metrics import Metrics
from bot.retry import attempt_then_retrying
from handlers.telegram import lean
from handlers.telegram.render import (
    Keyboard,
    Outgoing,
    as_model,
    is_inline,
    plan,
    shows_reply_keyboard,
)

log = logging.getLogger(__name__)

PLATFORM = "telegram"
T = TypeVar("T")
# Long link previews cost data on a weak mobile network and add nothing to a short answer.
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
NO_PREVIEW_JSON = {"is_disabled": True}  # the same, as the lean path sends it


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 4
    backoff: float = 0.5  # seconds before the 2nd attempt; doubles each time
    max_backoff: float = 8.0
    #: a longer flood wait is not waited out inside a conversation: the answer is dropped
    max_retry_after: float = 60.0


SINGLE_ATTEMPT = RetryPolicy(attempts=1)


def error_code(exc: BaseException) -> str:
    """The HTTP-like code of a Bot API failure, for metrics and delivery reasons."""
    for kind, code in (
        (TelegramRetryAfter, "429"),
        (TelegramForbiddenError, "403"),
        (TelegramBadRequest, "400"),
        (TelegramNotFound, "404"),
        (TelegramConflictError, "409"),
        (TelegramUnauthorizedError, "401"),
        (TelegramEntityTooLarge, "413"),
        (TelegramServerError, "5xx"),
        (TelegramNetworkError, "network"),
    ):
        if isinstance(exc, kind):
            return code
    return "other"


def outcome_of(exc: BaseException) -> DeliveryResult:
    code = error_code(exc)
    # The description is Telegram's ("Forbidden: bot was blocked by the user"), never our text.
    detail = exc.message[:120] if isinstance(exc, TelegramAPIError) else type(exc).__name__
    reason = f"{code}: {detail}"
    if isinstance(exc, TelegramRetryAfter):
        return DeliveryResult(
            Outcome.RATE_LIMITED, retry_after=float(exc.retry_after), reason=reason
        )
    if isinstance(exc, TelegramForbiddenError):
        return DeliveryResult(Outcome.BLOCKED, reason=reason)
    if isinstance(exc, TelegramBadRequest | TelegramNotFound | TelegramEntityTooLarge):
        return DeliveryResult(Outcome.FAILED, reason=reason)
    return DeliveryResult(Outcome.TRANSIENT, reason=reason)


def is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, TelegramEntityTooLarge):
        return False
    return isinstance(exc, TelegramServerError | TelegramNetworkError | TelegramRetryAfter)


def retry_after(exc: BaseException) -> float | None:
    """The wait Telegram asked for (flood control), or None to back off as usual."""
    return float(exc.retry_after) if isinstance(exc, TelegramRetryAfter) else None


def _log_retry(exc: BaseException, _attempts: int, wait: float) -> None:
    log.info("telegram %s, retrying in %.1f s", error_code(exc), wait)


class TelegramMessenger:
    """The `Messenger` for Telegram (see `bot.delivery.messenger`)."""

    platform = PLATFORM
    max_batch = 1  # the Bot API has no multi-recipient send

    def __init__(self, bot: Bot, metrics: Metrics, retry: RetryPolicy | None = None) -> None:
        self.bot = bot
        self.metrics = metrics
        self.retry = retry or RetryPolicy()
        # sendMessage, the edits and answerCallbackQuery as plain JSON (`lean`) when
        # that sends what aiogram would send; aiogram itself otherwise.
        self.lean = lean.usable(bot)
        # Chats that have a reply keyboard (share phone/location) on screen, so the next
        # answer can take it away. In memory: after a restart it is removed by the next
        # reply that asks for its removal, or hidden by Telegram after one use.
        self._reply_keyboard: set[int] = set()

    # -- the Messenger protocol (outbox) ----------------------------------------
    async def deliver(self, user_id: str, replies: Sequence[Reply]) -> DeliveryResult:
        return await self.send(int(user_id), replies, retry=SINGLE_ATTEMPT)

    async def deliver_many(
        self, user_ids: Sequence[str], reply: Reply
    ) -> dict[str, DeliveryResult]:
        return {user_id: await self.deliver(user_id, [reply]) for user_id in user_ids}

    # -- one message that is edited later (live announcement progress) ------------
    async def send_editable(self, user_id: str, reply: Reply) -> str | None:
        """Send `reply` as one message; its id lets `edit` change it later."""
        try:
            message = plan([reply], keyboard_shown=False).messages[0]
            sent = await self._call(partial(self._send_one, int(user_id), message), self.retry)
        except Exception as exc:
            log.warning("telegram editable send failed (%s)", error_code(exc))
            return None
        return str(sent)

    async def edit(self, user_id: str, ref: str, reply: Reply) -> DeliveryResult:
        message = plan([reply], keyboard_shown=False).messages[0]
        markup = message.reply_markup if is_inline(message.reply_markup) else None
        try:
            await self._call(
                partial(self._edit_text, int(user_id), int(ref), message.text, markup),
                self.retry,
            )
        except TelegramBadRequest as exc:
            if "not modified" in str(exc):  # nothing changed since the last edit
                return DeliveryResult(Outcome.SENT)
            return outcome_of(exc)
        except Exception as exc:
            return outcome_of(exc)
        return DeliveryResult(Outcome.SENT)

    # -- sending ---------------------------------------------------------------
    async def send(
        self, chat_id: int, replies: Sequence[Reply], *, retry: RetryPolicy | None = None
    ) -> DeliveryResult:
        """Send the replies in order; stop at the first message that cannot be sent."""
        policy = retry or self.retry
        try:
            batch = plan(replies, keyboard_shown=chat_id in self._reply_keyboard)
        except ValueError as exc:  # a button code over 64 bytes: a bug, never sent cut short
            log.error("reply cannot be rendered for Telegram: %s", exc)
            self.metrics.sends.labels(PLATFORM, Outcome.FAILED.value).inc()
            return DeliveryResult(Outcome.FAILED, reason=f"render: {exc}")
        for index, message in enumerate(batch.messages):
            try:
                sent = await self._call(partial(self._send_one, chat_id, message), policy)
            except Exception as exc:
                result = outcome_of(exc)
                self.metrics.sends.labels(PLATFORM, result.outcome.value).inc()
                log.warning("telegram send failed (%s)", result.reason)
                return result
            if index == 0 and batch.restore_inline is not None:
                await self._restore_inline(chat_id, sent, batch.restore_inline)
        keyboard = shows_reply_keyboard(batch.messages)
        if keyboard is True:
            self._reply_keyboard.add(chat_id)
        elif keyboard is False:
            self._reply_keyboard.discard(chat_id)
        if batch.messages:
            self.metrics.sends.labels(PLATFORM, Outcome.SENT.value).inc()
        return DeliveryResult(Outcome.SENT)

    async def answer_callback(self, query_id: str) -> None:
        """Stop the spinner on a pressed button (one attempt: a late answer is useless)."""
        if self.lean:
            await lean.call(self.bot, methods.AnswerCallbackQuery, {"callback_query_id": query_id})
        else:
            await self.bot.answer_callback_query(callback_query_id=query_id)

    async def _send_one(self, chat_id: int, message: Outgoing) -> int:
        """sendMessage; the sent message's id."""
        if self.lean:
            payload: dict[str, object] = {
                "chat_id": chat_id,
                "text": message.text,
                "parse_mode": "HTML",
                "link_preview_options": NO_PREVIEW_JSON,
            }
            if message.reply_markup is not None:
                payload["reply_markup"] = message.reply_markup
            result = await lean.call(self.bot, methods.SendMessage, payload)
            return lean.message_id(result)
        sent = await self.bot.send_message(
            chat_id=chat_id,
            text=message.text,
            parse_mode="HTML",
            reply_markup=message.markup,
            link_preview_options=NO_PREVIEW,
        )
        return sent.message_id

    async def _edit_text(
        self, chat_id: int, message_id: int, text: str, markup: Keyboard | None
    ) -> None:
        if self.lean:
            payload: dict[str, object] = {
                "chat_id": chat_id,
                "message_id": message_id,
                "text": text,
                "parse_mode": "HTML",
                "link_preview_options": NO_PREVIEW_JSON,
            }
            if markup is not None:
                payload["reply_markup"] = markup
            await lean.call(self.bot, methods.EditMessageText, payload)
            return
        model = as_model(markup)
        await self.bot.edit_message_text(
            chat_id=chat_id,
            message_id=message_id,
            text=text,
            parse_mode="HTML",
            reply_markup=model if isinstance(model, InlineKeyboardMarkup) else None,
            link_preview_options=NO_PREVIEW,
        )

    async def _edit_markup(self, chat_id: int, message_id: int, keyboard: Keyboard) -> None:
        if self.lean:
            payload = {"chat_id": chat_id, "message_id": message_id, "reply_markup": keyboard}
            await lean.call(self.bot, methods.EditMessageReplyMarkup, payload)
            return
        model = as_model(keyboard)
        assert isinstance(model, InlineKeyboardMarkup)
        await self.bot.edit_message_reply_markup(
            chat_id=chat_id, message_id=message_id, reply_markup=model
        )

    async def _restore_inline(self, chat_id: int, sent: int, keyboard: Keyboard) -> None:
        try:
            await self._call(partial(self._edit_markup, chat_id, sent, keyboard), self.retry)
        except Exception as exc:  # the text arrived; only its buttons are missing
            log.warning("could not put the buttons back (%s)", error_code(exc))

    async def _call(self, make: Callable[[], Awaitable[T]], policy: RetryPolicy) -> T:
        """One Bot API call, retried on flood control, 5xx and network errors (the first
        attempt outside tenacity: nearly every call succeeds at once)."""

        async def counted() -> T:
            try:
                return await make()
            except Exception as exc:
                self.metrics.send_errors.labels(PLATFORM, error_code(exc)).inc()
                raise

        return await attempt_then_retrying(
            counted,
            attempts=policy.attempts,
            backoff=policy.backoff,
            max_backoff=policy.max_backoff,
            on=is_retryable,
            retry_after=retry_after,
            max_retry_after=policy.max_retry_after,
            before_sleep=_log_retry,
        )
