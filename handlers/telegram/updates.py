"""Telegram updates read from their JSON into the few fields the adapter uses.

aiogram's `Update` is a tree of pydantic models (the message, its chat, its sender,
the bot bound into every one of them); building it cost more than the rest of the
adapter's work for an update. The adapter reads a dozen fields, so those are read
here, checked as strictly as aiogram checks them: what is not a Telegram update is
refused (`BadUpdate`), never half-handled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: the update types the adapter handles (getUpdates / setWebhook `allowed_updates`)
ALLOWED_UPDATES = ["message", "callback_query"]


class BadUpdate(ValueError):
    """JSON that is not a Telegram update (or not one of the parts the bot reads)."""


@dataclass(frozen=True, slots=True)
class Sender:
    id: int
    is_bot: bool
    language_code: str | None


@dataclass(frozen=True, slots=True)
class Contact:
    phone_number: str
    user_id: int | None


@dataclass(frozen=True, slots=True)
class Location:
    latitude: float
    longitude: float


@dataclass(frozen=True, slots=True)
class Chat:
    id: int
    type: str


@dataclass(frozen=True, slots=True)
class TgMessage:
    message_id: int
    date: int  # Unix time, as Telegram sends it
    chat: Chat
    sender: Sender | None
    text: str | None = None
    contact: Contact | None = None
    location: Location | None = None
    #: the id of the message this one replies to (a staff answer to a case's post)
    reply_to: int | None = None


@dataclass(frozen=True, slots=True)
class TgCallbackQuery:
    id: str
    sender: Sender
    #: the chat of the message whose button was pressed (None: an inline-mode message)
    chat: Chat | None
    data: str | None


@dataclass(frozen=True, slots=True)
class TgUpdate:
    update_id: int
    message: TgMessage | None = None
    callback_query: TgCallbackQuery | None = None


def parse_update(data: Any) -> TgUpdate:
    """The update in `data` (decoded JSON); `BadUpdate` when it is not one."""
    if not isinstance(data, dict):
        raise BadUpdate("an update is an object")
    update_id = _int(data, "update_id")
    message = data.get("message")
    query = data.get("callback_query")
    return TgUpdate(
        update_id,
        None if message is None else _message(message),
        None if query is None else _query(query),
    )


def _message(data: Any) -> TgMessage:
    _object(data, "message")
    sender = data.get("from")
    contact = data.get("contact")
    location = data.get("location")
    reply_to = data.get("reply_to_message")
    return TgMessage(
        message_id=_int(data, "message_id"),
        date=_int(data, "date"),
        chat=_chat(data.get("chat")),
        sender=None if sender is None else _sender(sender),
        text=_optional_str(data, "text"),
        contact=None if contact is None else _contact(contact),
        location=None if location is None else _location(location),
        reply_to=None if reply_to is None else _int(_object(reply_to, "reply"), "message_id"),
    )


def _query(data: Any) -> TgCallbackQuery:
    _object(data, "callback_query")
    message = data.get("message")
    chat = None
    if message is not None:  # an inaccessible message still names its chat
        chat = _chat(_object(message, "callback message").get("chat"))
    query_id = data.get("id")
    if not isinstance(query_id, str):
        raise BadUpdate("callback_query.id")
    return TgCallbackQuery(query_id, _sender(data.get("from")), chat, _optional_str(data, "data"))


def _chat(data: Any) -> Chat:
    _object(data, "chat")
    kind = data.get("type")
    if not isinstance(kind, str):
        raise BadUpdate("chat.type")
    return Chat(_int(data, "id"), kind)


def _sender(data: Any) -> Sender:
    _object(data, "from")
    is_bot = data.get("is_bot")
    if not isinstance(is_bot, bool) or not isinstance(data.get("first_name"), str):
        raise BadUpdate("from")
    return Sender(_int(data, "id"), is_bot, _optional_str(data, "language_code"))


def _contact(data: Any) -> Contact:
    _object(data, "contact")
    phone = data.get("phone_number")
    if not isinstance(phone, str) or not isinstance(data.get("first_name"), str):
        raise BadUpdate("contact")
    user_id = data.get("user_id")
    return Contact(phone, None if user_id is None else _int(data, "user_id"))


def _location(data: Any) -> Location:
    _object(data, "location")
    return Location(_float(data, "latitude"), _float(data, "longitude"))


def _object(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise BadUpdate(f"{what} is an object")
    return data


def _int(data: dict[str, Any], key: str) -> int:
    value = data.get(key)
    if type(value) is not int:  # bool is an int to Python, never to Telegram
        raise BadUpdate(f"{key} is an integer")
    return value


def _float(data: dict[str, Any], key: str) -> float:
    value = data.get(key)
    if type(value) is int or type(value) is float:
        return float(value)
    raise BadUpdate(f"{key} is a number")


def _optional_str(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise BadUpdate(f"{key} is a string")
    return value
