"""The engine's replies as Viber messages: text within 7000 characters, one keyboard.

Viber shows one custom keyboard at a time (the one on the last message received),
so the buttons of every reply in a batch are laid out together on the batch's
last message: the engine accepts any of them, and the person can press any of
them. A pressed `reply` button sends its ActionBody back as a text message, so
ActionBody is the engine's payload and the adapter maps it back (`adapter.py`).

API levels. Some keyboard and button fields need a newer Viber client: the keyboard
parameter tables mark them "(api level N)" (see `FIELD_LEVELS`). A message must
declare `min_api_version` at least as high as its fields need (else Viber refuses
it with status 14), and Viber refuses to deliver a message whose `min_api_version`
is above the receiver's client (status 13). So every message declares the level
computed from the fields it actually carries (`required_api_version`), and the
keyboard is built for the person's client (`api_version`, reported by Viber in
every callback): level 4 and later get silent buttons; level 3 gets buttons that
send their own label (shown in the chat as the person's answer, as they read it);
below 3, no share-phone or location buttons either. A client we know nothing about
gets what every client shows.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import Any

from viberbot.api.messages import TextMessage

from bot.engine.events import Button, Reply, Request
from bot.engine.globals import OPEN_PREFIX
from handlers.text_split import split_text as split

TEXT_LIMIT = 7000
MAX_BUTTONS = 24
COLUMNS = 6  # the width of a Viber keyboard on a phone
MAX_PER_ROW = 3  # more than three labels in a row become unreadable on a small phone
SENDER_NAME_LIMIT = 28
BUTTON_TEXT_LIMIT = 250
#: Viber refuses request bodies over 30 KB; a broadcast adds up to 300 receiver ids
MAX_BODY_BYTES = 30 * 1024
RECEIVERS_ROOM = 300 * 40
BODY_BUDGET = MAX_BODY_BYTES - RECEIVERS_ROOM

#: The API level each field needs, from Viber's keyboard parameter tables
#: (developers.viber.com/docs/tools/keyboards, "optional (api level N)"); any field
#: not listed is level 1. `Silent` has no level there, only "Viber 6.7 and above";
#: issue #18 reports status 14 for it below min_api_version 4, so it counts as level 4
#: (the safe side: level-3 apps get buttons without it). See docs/viber.md.
FIELD_LEVELS: dict[str, dict[str, int]] = {
    "keyboard": {
        "CustomDefaultHeight": 3,
        "HeightScale": 3,
        "ButtonsGroupColumns": 4,
        "ButtonsGroupRows": 4,
        "InputFieldState": 4,
        "FavoritesMetadata": 6,
    },
    "button": {
        "InternalBrowser": 3,
        "Silent": 4,
        "TextPaddings": 4,
        "BgMediaScaleType": 6,
        "ImageScaleType": 6,
        "TextShouldFit": 6,
        "Map": 6,
        "Frame": 6,
        "MediaPlayer": 6,
    },
    # ActionType values: not supported on desktop either
    "action": {"share-phone": 3, "location-picker": 3},
    # message types: a carousel (not sent by Poruch)
    "message": {"rich_media": 7},
}
#: the lowest level with silent buttons and a kept input field
SILENT_LEVEL = 4
#: the lowest level with share-phone and location-picker buttons
REQUEST_LEVEL = 3
#: what a client we know nothing about can show: everything at level 1
UNKNOWN_LEVEL = 1

KEYBOARD_BG = "#FFFFFF"
BUTTON_BG = "#E7E3FB"  # a light Viber violet: visible, and dark text stays readable
NAVIGATION_BG = "#F1F1F4"  # Back / Menu: quieter than the answers
REQUEST_BG = "#D5F5E3"  # share my phone / location: stands out as an action
TEXT_SIZE = "regular"  # the same size everywhere; "large" wraps long Ukrainian labels
NAVIGATION_PREFIX = "g:"  # the engine's global payloads (Back, Menu, Help …)

Message = dict[str, Any]


def client_level(api_version: int | None) -> int:
    """The level to build for: the person's client, or level 1 when it is unknown."""
    return api_version if api_version is not None and api_version >= 1 else UNKNOWN_LEVEL


def tier(api_version: int | None) -> int:
    """Clients that get the same messages: 4 and later, 3, below 3 (for broadcasts)."""
    return min(client_level(api_version), SILENT_LEVEL) if client_level(api_version) >= 3 else 1


def required_api_version(body: Message) -> int:
    """The lowest min_api_version that Viber accepts for the fields `body` carries."""
    level = FIELD_LEVELS["message"].get(str(body.get("type")), 1)
    board = body.get("keyboard")
    if isinstance(board, dict):
        level = max([level, *(FIELD_LEVELS["keyboard"].get(k, 1) for k in board)])
        for button in board.get("Buttons") or []:
            level = max(
                [
                    level,
                    FIELD_LEVELS["action"].get(str(button.get("ActionType", "reply")), 1),
                    *(FIELD_LEVELS["button"].get(k, 1) for k in button),
                ]
            )
    return level


def sender(name: str) -> dict[str, str]:
    return {"name": name[:SENDER_NAME_LIMIT]}


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Pieces of at most `limit` characters, cut between paragraphs where possible."""
    return split(text.strip() or "…", limit)


def _label(text: str) -> str:
    # Button Text accepts a few HTML tags: escape, so a label is shown as written.
    return html.escape(text, quote=False)[:BUTTON_TEXT_LIMIT]


def _button(button: Button, columns: int, level: int, own_label: bool) -> dict[str, Any]:
    navigation = button.payload.startswith(NAVIGATION_PREFIX)
    fields: dict[str, Any] = {
        "Columns": columns,
        "Rows": 1,
        "ActionType": "reply",
        # Silent buttons send their code unseen. Older clients show what a button sends
        # as the person's message: there it sends its label, which the engine takes as
        # pressing that button (a label used twice on the keyboard sends the code).
        "ActionBody": button.label if own_label else button.payload,
        "Text": _label(button.label),
        "TextSize": TEXT_SIZE,
        "TextHAlign": "center",
        "TextVAlign": "middle",
        "BgColor": NAVIGATION_BG if navigation else BUTTON_BG,
    }
    if level >= SILENT_LEVEL:
        fields["Silent"] = True
    return fields


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


def keyboard(replies: Sequence[Reply], api_version: int | None = None) -> dict[str, Any] | None:
    """One keyboard for a batch of replies, as the person's client can show it; None
    when there is nothing to press."""
    level = client_level(api_version)
    request = next((r for r in reversed(replies) if r.request is not None), None)
    buttons: list[dict[str, Any]] = []
    if request is not None and request.request is not None and level >= REQUEST_LEVEL:
        label = request.request_label or request.request.value
        buttons.append(_request_button(request.request, label))
    rows = _fit(_rows(replies), MAX_BUTTONS - len(buttons))
    labels = [" ".join(b.label.split()).casefold() for row in rows for b in row]
    for row in rows:
        columns = COLUMNS // len(row)
        for button in row:
            unique = labels.count(" ".join(button.label.split()).casefold()) == 1
            # A button in a message the bot started opens a step by its code alone.
            own_label = (
                level < SILENT_LEVEL
                and unique
                and bool(button.label.strip())
                and not button.payload.startswith(OPEN_PREFIX)
            )
            buttons.append(_button(button, columns, level, own_label))
    if not buttons:
        return None
    board: dict[str, Any] = {
        "Type": "keyboard",
        "DefaultHeight": False,
        "BgColor": KEYBOARD_BG,
        "Buttons": buttons,
    }
    if level >= SILENT_LEVEL:
        board["InputFieldState"] = "regular"  # typing stays possible: "menu", a number, a date
    return board


def _text_of(reply: Reply) -> str:
    text = reply.full_text()
    if reply.links:
        text += "\n\n" + "\n".join(f"🔗 {link.label}: {link.url}" for link in reply.links)
    return text


def body_size(body: Message) -> int:
    """Bytes on the wire, as the client sends it (`client.encode`)."""
    return len(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode())


def _body(text: str, board: dict[str, Any] | None, sender_name: str) -> Message:
    body: Message = TextMessage(text=text, keyboard=board).to_dict()
    body["sender"] = sender(sender_name)
    body["min_api_version"] = required_api_version(body)
    return body


def _pieces(text: str, room: int, limit: int = TEXT_LIMIT) -> list[str]:
    """Text pieces within `limit` characters whose encoded size fits `room` bytes."""
    pieces: list[str] = []
    for piece in split_text(text, limit):
        size = body_size({"text": piece})
        if size <= room or len(piece) <= 1:
            pieces.append(piece)
            continue
        smaller = max(1, min(len(piece) - 1, len(piece) * room // size))
        pieces.extend(_pieces(piece, room, smaller))
    return pieces


def messages(
    replies: Sequence[Reply], sender_name: str, *, api_version: int | None = None
) -> list[Message]:
    """send_message bodies without `receiver`, for a client at `api_version`; the keyboard
    rides on the last one, and each body leaves room for a broadcast's receivers."""
    if not replies:
        return []
    board = None if replies[-1].remove_keyboard else keyboard(replies, api_version)
    room = BODY_BUDGET - body_size(_body("", board, sender_name))
    texts = [piece for reply in replies for piece in _pieces(_text_of(reply), room)]
    last = len(texts) - 1
    return [
        _body(text, board if index == last else None, sender_name)
        for index, text in enumerate(texts)
    ]


def welcome(
    replies: Sequence[Reply], sender_name: str, *, api_version: int | None = None
) -> Message:
    """The one message Viber lets a bot send before subscription: the response body."""
    text = "\n\n".join(_text_of(r) for r in replies)
    board = keyboard(replies, api_version)
    room = BODY_BUDGET - body_size(_body("", board, sender_name))
    return _body(_pieces(text, room)[0], board, sender_name)
