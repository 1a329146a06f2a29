"""The engine's replies as Viber messages: text within 7000 characters, one keyboard.

Viber shows one custom keyboard at a time (the one on the last message received),
so the buttons of every reply in a batch are laid out together on the batch's
last message: the engine accepts any of them, and the person can press any of
them. A pressed `reply` button sends its ActionBody back as a text message, so
ActionBody is the engine's payload and the adapter maps it back (`adapter.py`).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from viberbot.api.messages import TextMessage

from bot.engine.events import Button, Reply, Request
from handlers.text_split import split_text as split

TEXT_LIMIT = 7000
MAX_BUTTONS = 24
COLUMNS = 6  # the width of a Viber keyboard on a phone
MAX_PER_ROW = 3  # more than three labels in a row become unreadable on a small phone
SENDER_NAME_LIMIT = 28
BUTTON_TEXT_LIMIT = 250
#: share-phone and location-picker need API level 3 (Viber 7.6 and later)
REQUEST_API_VERSION = 3

KEYBOARD_BG = "#FFFFFF"
BUTTON_BG = "#E7E3FB"  # a light Viber violet: visible, and dark text stays readable
NAVIGATION_BG = "#F1F1F4"  # Back / Menu: quieter than the answers
REQUEST_BG = "#D5F5E3"  # share my phone / location: stands out as an action
TEXT_SIZE = "regular"  # the same size everywhere; "large" wraps long Ukrainian labels
NAVIGATION_PREFIX = "g:"  # the engine's global payloads (Back, Menu, Help …)

Message = dict[str, Any]


def sender(name: str) -> dict[str, str]:
    return {"name": name[:SENDER_NAME_LIMIT]}


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Pieces of at most `limit` characters, cut between paragraphs where possible."""
    return split(text.strip() or "…", limit)


def _label(text: str) -> str:
    # Button Text accepts a few HTML tags: escape, so a label is shown as written.
    return html.escape(text, quote=False)[:BUTTON_TEXT_LIMIT]


def _button(button: Button, columns: int) -> dict[str, Any]:
    navigation = button.payload.startswith(NAVIGATION_PREFIX)
    return {
        "Columns": columns,
        "Rows": 1,
        "ActionType": "reply",
        "ActionBody": button.payload,
        "Text": _label(button.label),
        "TextSize": TEXT_SIZE,
        "TextHAlign": "center",
        "TextVAlign": "middle",
        "BgColor": NAVIGATION_BG if navigation else BUTTON_BG,
        # The payload is an opaque code: do not echo "m:elig" into the chat as the
        # person's message; the bot's answer shows what was chosen.
        "Silent": True,
    }


def _request_button(request: Request, label: str) -> dict[str, Any]:
    action = "share-phone" if request is Request.PHONE else "location-picker"
    return {
        "Columns": COLUMNS,
        "Rows": 1,
        "ActionType": action,
        "ActionBody": action,  # required non-empty; the answer arrives as contact/location
        "Text": _label(label),
        "TextSize": TEXT_SIZE,
        "TextHAlign": "center",
        "TextVAlign": "middle",
        "BgColor": REQUEST_BG,
    }


def _rows(replies: Sequence[Reply]) -> list[tuple[Button, ...]]:
    rows: list[tuple[Button, ...]] = []
    for reply in replies:
        for row in reply.buttons:
            for start in range(0, len(row), MAX_PER_ROW):
                rows.append(row[start : start + MAX_PER_ROW])
    return rows


def _fit(rows: list[tuple[Button, ...]], room: int) -> list[tuple[Button, ...]]:
    """At most `room` buttons; the navigation row at the end is kept, answers trimmed."""
    if sum(len(row) for row in rows) <= room:
        return rows
    tail: list[tuple[Button, ...]] = []
    while rows and all(b.payload.startswith(NAVIGATION_PREFIX) for b in rows[-1]):
        tail.insert(0, rows.pop())
    room -= sum(len(row) for row in tail)
    kept: list[tuple[Button, ...]] = []
    for row in rows:
        if room <= 0:
            break
        kept.append(row[:room])
        room -= len(kept[-1])
    return kept + tail


def keyboard(replies: Sequence[Reply]) -> dict[str, Any] | None:
    """One keyboard for a batch of replies, or None when there is nothing to press."""
    request = next((r for r in reversed(replies) if r.request is not None), None)
    buttons: list[dict[str, Any]] = []
    if request is not None and request.request is not None:
        label = request.request_label or request.request.value
        buttons.append(_request_button(request.request, label))
    for row in _fit(_rows(replies), MAX_BUTTONS - len(buttons)):
        columns = COLUMNS // len(row)
        buttons.extend(_button(button, columns) for button in row)
    if not buttons:
        return None
    return {
        "Type": "keyboard",
        "DefaultHeight": False,
        "BgColor": KEYBOARD_BG,
        "InputFieldState": "regular",  # typing stays possible: "menu", a number, a date
        "Buttons": buttons,
    }


def _text_of(reply: Reply) -> str:
    text = reply.full_text()
    if reply.links:
        text += "\n\n" + "\n".join(f"🔗 {link.label}: {link.url}" for link in reply.links)
    return text


def _body(text: str, board: dict[str, Any] | None, sender_name: str) -> Message:
    needs_level_3 = board is not None and any(
        b["ActionType"] in ("share-phone", "location-picker") for b in board["Buttons"]
    )
    message = TextMessage(
        text=text,
        keyboard=board,
        min_api_version=REQUEST_API_VERSION if needs_level_3 else None,
    )
    body: Message = message.to_dict()
    body["sender"] = sender(sender_name)
    return body


def messages(replies: Sequence[Reply], sender_name: str) -> list[Message]:
    """send_message bodies without `receiver`; the keyboard rides on the last one."""
    texts = [piece for reply in replies for piece in split_text(_text_of(reply))]
    if not texts:
        return []
    board = None if replies[-1].remove_keyboard else keyboard(replies)
    last = len(texts) - 1
    return [
        _body(text, board if index == last else None, sender_name)
        for index, text in enumerate(texts)
    ]


def welcome(replies: Sequence[Reply], sender_name: str) -> Message:
    """The one message Viber lets a bot send before subscription: the response body."""
    text = "\n\n".join(_text_of(r) for r in replies)
    return _body(split_text(text)[0], keyboard(replies), sender_name)
