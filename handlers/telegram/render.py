"""Engine `Reply` → Telegram messages: HTML text, keyboards, and the 4096-character limit.

Everything in a `Reply` is plain text, so everything is escaped here; the only
markup in a message is the markup this module writes (the bold title, links).

Keyboards are written as the Bot API's JSON objects (`reply_markup`), ready to be
sent as they are: building aiogram's models for every button of every answer, only
for aiogram to turn them back into JSON, was most of the cost of a send.
`Outgoing.markup` gives aiogram's model of the same keyboard to whoever wants one.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiogram.types import InlineKeyboardMarkup, ReplyKeyboardMarkup, ReplyKeyboardRemove

from bot.engine.events import Reply, Request
from handlers.text_split import split_text as split

TEXT_LIMIT = 4096  # Bot API: 1-4096 characters after entities parsing
CALLBACK_DATA_LIMIT = 64  # Bot API: 1-64 bytes
# The person reads both languages' fallback: the dialog normally sets request_label.
DEFAULT_REQUEST_LABELS = {
    Request.PHONE: "📱 Надіслати номер / Share my number",
    Request.LOCATION: "📍 Надіслати місцезнаходження / Share my location",
}
#: the most UTF-16 units one character can take once escaped ("&" is "&amp;")
MAX_UNITS_PER_CHAR = 5
EMPTY_TEXT = "⬇️"  # Telegram refuses an empty text; a keyboard still needs a message

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove
#: a keyboard as the Bot API's JSON object: {"inline_keyboard": …}, {"keyboard": …}
#: or {"remove_keyboard": true}
Keyboard = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One sendMessage: HTML text and at most one keyboard."""

    text: str
    reply_markup: Keyboard | None = None

    @property
    def markup(self) -> Markup | None:
        """The keyboard as aiogram's model (aiogram's own send path, previews, tests)."""
        return as_model(self.reply_markup)


def is_inline(markup: Keyboard | None) -> bool:
    return markup is not None and "inline_keyboard" in markup


def is_reply_keyboard(markup: Keyboard | None) -> bool:
    return markup is not None and "keyboard" in markup


def is_removal(markup: Keyboard | None) -> bool:
    return markup is not None and "remove_keyboard" in markup


def as_model(markup: Keyboard | None) -> Markup | None:
    if markup is None:
        return None
    if is_inline(markup):
        return InlineKeyboardMarkup.model_validate(markup)
    if is_reply_keyboard(markup):
        return ReplyKeyboardMarkup.model_validate(markup)
    return ReplyKeyboardRemove.model_validate(markup)


def utf16_len(text: str) -> int:
    """Telegram counts text length in UTF-16 code units (an emoji is two)."""
    return len(text.encode("utf-16-le")) // 2


def escape(text: str) -> str:
    return html.escape(text, quote=False)


def _size(plain: str) -> int:
    # Measured after escaping: that is never shorter than what Telegram counts.
    return utf16_len(escape(plain))


def split_text(text: str, limit: int = TEXT_LIMIT, first_limit: int | None = None) -> list[str]:
    """Plain text cut into pieces whose escaped form fits `limit` (`first_limit` for the first)."""
    if len(text) * MAX_UNITS_PER_CHAR <= min(limit, limit if first_limit is None else first_limit):
        # Fits however it is escaped (nearly every answer): one piece, trimmed as the
        # splitter trims, without measuring it paragraph by paragraph.
        piece = text.lstrip("\n ").rstrip()
        return [piece] if piece.strip() else []
    return split(text, limit, size=_size, first_limit=first_limit)


# -- keyboards ---------------------------------------------------------------
def callback_data(payload: str) -> str:
    size = len(payload.encode())
    if not 1 <= size <= CALLBACK_DATA_LIMIT:
        # The engine keeps payloads ≤ 40 bytes; a longer one is a bug, never to be sent cut.
        raise ValueError(f"callback data must be 1-{CALLBACK_DATA_LIMIT} bytes, got {size}")
    return payload


def inline_keyboard(reply: Reply) -> Keyboard | None:
    rows: list[list[dict[str, str]]] = [
        [{"text": b.label, "callback_data": callback_data(b.payload)} for b in row]
        for row in reply.buttons
    ]
    rows += [[{"text": link.label, "url": link.url}] for link in reply.links]
    return {"inline_keyboard": rows} if rows else None


def request_keyboard(reply: Reply) -> Keyboard:
    """The share button first; the reply's other choices as typed-label buttons below it.

    A reply keyboard cannot carry callback data, so a pressed choice arrives as
    its label, which the engine matches against the buttons it offered.
    """
    assert reply.request is not None
    label = reply.request_label or DEFAULT_REQUEST_LABELS[reply.request]
    share: dict[str, Any] = {"text": label}
    if reply.request is Request.PHONE:
        share["request_contact"] = True
    if reply.request is Request.LOCATION:
        share["request_location"] = True
    rows = [[share]] + [[{"text": b.label} for b in row] for row in reply.buttons]
    return {"keyboard": rows, "resize_keyboard": True, "one_time_keyboard": True}


# -- messages ----------------------------------------------------------------
def render_reply(reply: Reply) -> list[Outgoing]:
    """One reply as one or more messages; the keyboard goes under the last one."""
    markup: Keyboard | None
    text = reply.text
    if reply.request is not None:
        markup = request_keyboard(reply)
        # URL buttons need an inline keyboard, which this message cannot have.
        text = "\n".join([text, *(f"{link.label}: {link.url}" for link in reply.links)])
    else:
        markup = inline_keyboard(reply)
    title_html = f"<b>{escape(reply.title[:256])}</b>" if reply.title else ""
    head = "\n\n".join(part for part in (escape(reply.lead), title_html) if part)
    first_limit = TEXT_LIMIT - utf16_len(head) - 2 if head else TEXT_LIMIT
    pieces = [escape(piece) for piece in split_text(text, TEXT_LIMIT, first_limit)]
    if head:
        pieces[:1] = [f"{head}\n\n{pieces[0]}" if pieces else head]
    if not pieces:
        if markup is None:
            return []
        pieces = [EMPTY_TEXT]
    messages = [Outgoing(piece) for piece in pieces]
    messages[-1] = Outgoing(messages[-1].text, markup)
    return messages


@dataclass(frozen=True, slots=True)
class Plan:
    messages: list[Outgoing]
    #: an inline keyboard to put back on the first message after sending it with
    #: ReplyKeyboardRemove (a message carries one keyboard only)
    restore_inline: Keyboard | None = None


def plan(replies: Sequence[Reply], *, keyboard_shown: bool) -> Plan:
    """All messages for one batch of replies, removing a reply keyboard no longer asked for."""
    messages = [message for reply in replies for message in render_reply(reply)]
    asks_again = any(is_reply_keyboard(m.reply_markup) for m in messages)
    wants_removal = keyboard_shown or any(reply.remove_keyboard for reply in replies)
    if asks_again or not wants_removal or not messages:
        return Plan(messages)
    remove = {"remove_keyboard": True}
    for index, message in enumerate(messages):
        if message.reply_markup is None:
            messages[index] = Outgoing(message.text, remove)
            return Plan(messages)
    first = messages[0]
    messages[0] = Outgoing(first.text, remove)
    restore = first.reply_markup if is_inline(first.reply_markup) else None
    return Plan(messages, restore_inline=restore)


def shows_reply_keyboard(messages: Sequence[Outgoing]) -> bool | None:
    """True/False when these messages leave a reply keyboard on screen or not; None: unchanged."""
    for message in reversed(messages):
        if is_reply_keyboard(message.reply_markup):
            return True
        if is_removal(message.reply_markup):
            return False
    return None
