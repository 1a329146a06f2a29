"""Engine `Reply` → Telegram messages: HTML text, keyboards, and the 4096-character limit.

Everything in a `Reply` is plain text, so everything is escaped here; the only
markup in a message is the markup this module writes (the bold title, links).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from bot.engine.events import Reply, Request
from handlers.text_split import split_text as split

TEXT_LIMIT = 4096  # Bot API: 1-4096 characters after entities parsing
CALLBACK_DATA_LIMIT = 64  # Bot API: 1-64 bytes
# The person reads both languages' fallback: the dialog normally sets request_label.
DEFAULT_REQUEST_LABELS = {
    Request.PHONE: "📱 Надіслати номер / Share my number",
    Request.LOCATION: "📍 Надіслати місцезнаходження / Share my location",
}
EMPTY_TEXT = "⬇️"  # Telegram refuses an empty text; a keyboard still needs a message

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One sendMessage: HTML text and at most one keyboard."""

    text: str
    markup: Markup | None = None


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
    return split(text, limit, size=_size, first_limit=first_limit)


# -- keyboards ---------------------------------------------------------------
def callback_data(payload: str) -> str:
    size = len(payload.encode())
    if not 1 <= size <= CALLBACK_DATA_LIMIT:
        # The engine keeps payloads ≤ 40 bytes; a longer one is a bug, never to be sent cut.
        raise ValueError(f"callback data must be 1-{CALLBACK_DATA_LIMIT} bytes, got {size}")
    return payload


def inline_keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    rows = [
        [InlineKeyboardButton(text=b.label, callback_data=callback_data(b.payload)) for b in row]
        for row in reply.buttons
    ]
    rows += [[InlineKeyboardButton(text=link.label, url=link.url)] for link in reply.links]
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


def request_keyboard(reply: Reply) -> ReplyKeyboardMarkup:
    """The share button first; the reply's other choices as typed-label buttons below it.

    A reply keyboard cannot carry callback data, so a pressed choice arrives as
    its label, which the engine matches against the buttons it offered.
    """
    assert reply.request is not None
    label = reply.request_label or DEFAULT_REQUEST_LABELS[reply.request]
    share = KeyboardButton(
        text=label,
        request_contact=reply.request is Request.PHONE or None,
        request_location=reply.request is Request.LOCATION or None,
    )
    rows = [[share]] + [[KeyboardButton(text=b.label) for b in row] for row in reply.buttons]
    return ReplyKeyboardMarkup(keyboard=rows, resize_keyboard=True, one_time_keyboard=True)


# -- messages ----------------------------------------------------------------
def render_reply(reply: Reply) -> list[Outgoing]:
    """One reply as one or more messages; the keyboard goes under the last one."""
    markup: Markup | None
    text = reply.text
    if reply.request is not None:
        markup = request_keyboard(reply)
        # URL buttons need an inline keyboard, which this message cannot have.
        text = "\n".join([text, *(f"{link.label}: {link.url}" for link in reply.links)])
    else:
        markup = inline_keyboard(reply)
    title_html = f"<b>{escape(reply.title[:256])}</b>" if reply.title else ""
    first_limit = TEXT_LIMIT - utf16_len(title_html) - 2 if title_html else TEXT_LIMIT
    pieces = [escape(piece) for piece in split_text(text, TEXT_LIMIT, first_limit)]
    if title_html:
        pieces[:1] = [f"{title_html}\n\n{pieces[0]}" if pieces else title_html]
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
    restore_inline: InlineKeyboardMarkup | None = None


def plan(replies: Sequence[Reply], *, keyboard_shown: bool) -> Plan:
    """All messages for one batch of replies, removing a reply keyboard no longer asked for."""
    messages = [message for reply in replies for message in render_reply(reply)]
    asks_again = any(isinstance(m.markup, ReplyKeyboardMarkup) for m in messages)
    wants_removal = keyboard_shown or any(reply.remove_keyboard for reply in replies)
    if asks_again or not wants_removal or not messages:
        return Plan(messages)
    remove = ReplyKeyboardRemove(remove_keyboard=True)
    for index, message in enumerate(messages):
        if message.markup is None:
            messages[index] = Outgoing(message.text, remove)
            return Plan(messages)
    first = messages[0]
    messages[0] = Outgoing(first.text, remove)
    restore = first.markup if isinstance(first.markup, InlineKeyboardMarkup) else None
    return Plan(messages, restore_inline=restore)


def shows_reply_keyboard(messages: Sequence[Outgoing]) -> bool | None:
    """True/False when these messages leave a reply keyboard on screen or not; None: unchanged."""
    for message in reversed(messages):
        if isinstance(message.markup, ReplyKeyboardMarkup):
            return True
        if isinstance(message.markup, ReplyKeyboardRemove):
            return False
    return None
