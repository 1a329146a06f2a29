"""Neutral messages between the adapters and the engine.

An adapter turns a native update into an `Incoming` and renders each `Reply`
within its platform's limits. Neither type knows any messenger.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    TEXT = "text"
    BUTTON = "button"
    COMMAND = "command"
    CONTACT = "contact"
    LOCATION = "location"
    UNSUPPORTED = "unsupported"  # stickers, photos, voice …: answered politely


@dataclass(frozen=True, slots=True)
class Incoming:
    platform: str
    user_id: str
    kind: Kind
    text: str = ""
    payload: str = ""
    phone: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    language_code: str | None = None  # the messenger's hint, used only at first contact
    event_id: str | None = None  # platform delivery id, for exactly-once handling

    @property
    def identity(self) -> tuple[str, str]:
        return (self.platform, self.user_id)


@dataclass(frozen=True, slots=True)
class Button:
    label: str
    payload: str


class Request(StrEnum):
    PHONE = "phone"
    LOCATION = "location"


@dataclass(frozen=True, slots=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True, slots=True)
class Reply:
    """One message to the person.

    `title` is shown emphasised where the platform can; `text` is plain text.
    Every string is plain: adapters escape it for their markup, so nothing a
    person typed can ever become markup.
    """

    text: str
    title: str | None = None
    buttons: tuple[tuple[Button, ...], ...] = ()
    request: Request | None = None
    request_label: str = ""
    links: tuple[Link, ...] = field(default=())
    remove_keyboard: bool = False
    #: said first, above the title: the notes joined into this message (`joined_notes`)
    lead: str = ""

    @property
    def payloads(self) -> list[str]:
        return [button.payload for row in self.buttons for button in row]

    def full_text(self) -> str:
        return "\n\n".join(part for part in (self.lead, self.title, self.text) if part)


#: a joined message stays well inside Telegram's 4096 characters (no split needed)
JOINED_MAX_CHARS = 3000


def joined_notes(replies: list[Reply], notes: list[Reply]) -> list[Reply]:
    """The same answer in fewer messages: each of `notes` (short words about what just
    happened: "Thank you.", "Not found …") goes into the message after it, first, above
    its title. A note with nothing after it stays a message of its own.

    Each message is a notification and a download on a weak network, and Telegram
    asks for at most about one message a second in a chat (docs/architecture.md)."""
    if not notes:
        return replies
    out: list[Reply] = []
    waiting: list[str] = []
    for reply in replies:
        if any(reply is note for note in notes):
            waiting.append(reply.text)
            continue
        if waiting:
            joined = replace(
                reply, lead="\n\n".join((*waiting, reply.lead) if reply.lead else waiting)
            )
            if len(joined.full_text()) <= JOINED_MAX_CHARS:
                reply = joined
            else:
                out.append(Reply(text="\n\n".join(waiting)))
            waiting = []
        out.append(reply)
    if waiting:
        out.append(Reply(text="\n\n".join(waiting)))
    return out


def reply_to_json(reply: Reply) -> dict[str, Any]:
    """Plain data for storing a reply until it is sent (see `reply_from_json`)."""
    return {
        "text": reply.text,
        "title": reply.title,
        "buttons": [[[b.label, b.payload] for b in row] for row in reply.buttons],
        "request": reply.request.value if reply.request else None,
        "request_label": reply.request_label,
        "links": [[link.label, link.url] for link in reply.links],
        "remove_keyboard": reply.remove_keyboard,
        "lead": reply.lead,
    }


def reply_from_json(item: dict[str, Any]) -> Reply:
    return Reply(
        text=item["text"],
        title=item.get("title"),
        buttons=tuple(
            tuple(Button(label, payload) for label, payload in row)
            for row in item.get("buttons", ())
        ),
        request=Request(item["request"]) if item.get("request") else None,
        request_label=item.get("request_label", ""),
        links=tuple(Link(label, url) for label, url in item.get("links", ())),
        remove_keyboard=bool(item.get("remove_keyboard")),
        lead=item.get("lead", ""),
    )


def replies_to_json(replies: list[Reply]) -> list[dict[str, Any]]:
    return [reply_to_json(reply) for reply in replies]


def replies_from_json(data: list[dict[str, Any]]) -> list[Reply]:
    return [reply_from_json(item) for item in data]
