"""Buttons that stand for one of several things: "<prefix>:<id>" payloads.

    office = Choices("of")
    ctx.ask(text, [[office.button(str(n), name)] for n, name in enumerate(names)])
    ...
    index = office.index(payload, len(names))   # None unless "of:<n>" with n in range

Parsing lives here once, instead of `removeprefix`/`isdigit` in every step. The
payload is the same "<prefix>:<id>" text as before, so buttons in messages sent
long ago keep working; a prefix may also accept `legacy` prefixes of older formats.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.engine.events import Button

#: Telegram allows 64 bytes of callback data; Viber's ActionBody far more. Payloads stay
#: well inside (the same limit as `Context.button`).
MAX_PAYLOAD_BYTES = 40


def checked(payload: str) -> str:
    size = len(payload.encode())
    if size > MAX_PAYLOAD_BYTES:
        raise ValueError(f"button payload too long: {size} bytes")
    return payload


class Choices:
    """One kind of choice in a step: its buttons carry "<prefix>:<id>"."""

    def __init__(self, prefix: str, *, legacy: Iterable[str] = ()) -> None:
        if not prefix or ":" in prefix:
            raise ValueError(f"bad choice prefix {prefix!r}")
        self.prefix = prefix
        self._heads = (f"{prefix}:", *(f"{old}:" for old in legacy))

    def payload(self, id: str | int) -> str:
        return checked(f"{self.prefix}:{id}")

    def button(self, id: str | int, label: str) -> Button:
        return Button(label=label, payload=self.payload(id))

    def parse(self, payload: str) -> str | None:
        """The id this payload chose, or None when it is not one of these choices."""
        for head in self._heads:
            if payload.startswith(head):
                return payload[len(head) :] or None
        return None

    def number(self, payload: str) -> int | None:
        """The id as a whole number (an appointment, a case), or None."""
        raw = self.parse(payload)
        return int(raw) if raw is not None and raw.isascii() and raw.isdigit() else None

    def index(self, payload: str, count: int) -> int | None:
        """A position in a list of `count` items shown as buttons, or None."""
        n = self.number(payload)
        return n if n is not None and n < count else None

    def __contains__(self, payload: object) -> bool:
        return isinstance(payload, str) and self.parse(payload) is not None
