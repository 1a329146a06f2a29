"""An in-process adapter that lets a test (or a benchmark) read like a conversation.

    chat = Conversation(engine, user_id="42")
    await chat.says("/start")
    chat.expect("Оберіть мову")
    await chat.presses("English")
    chat.expect("What I store", buttons=["✅ I agree"])

Buttons are pressed by their label, the way a person does; the payload behind
the label is what the engine receives.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.engine import Engine, Incoming, Kind, Reply


class ConversationError(AssertionError):
    pass


@dataclass
class Conversation:
    engine: Engine
    user_id: str = "1"
    platform: str = "test"
    language_code: str | None = None
    history: list[Reply] = field(default_factory=list)
    last: list[Reply] = field(default_factory=list)

    async def send(self, event: Incoming) -> list[Reply]:
        self.last = await self.engine.handle(event)
        self.history.extend(self.last)
        return self.last

    def _event(self, kind: Kind, **values: object) -> Incoming:
        return Incoming(
            platform=self.platform,
            user_id=self.user_id,
            kind=kind,
            language_code=self.language_code,
            **values,  # type: ignore[arg-type]
        )

    async def says(self, text: str) -> list[Reply]:
        kind = Kind.COMMAND if text.startswith("/") else Kind.TEXT
        return await self.send(self._event(kind, text=text))

    async def presses(self, label: str) -> list[Reply]:
        """Press the button whose label contains `label` (case-insensitive) in the last replies."""
        return await self.send(self._event(Kind.BUTTON, payload=self.payload_of(label)))

    async def presses_payload(self, payload: str) -> list[Reply]:
        return await self.send(self._event(Kind.BUTTON, payload=payload))

    async def shares_contact(self, phone: str) -> list[Reply]:
        return await self.send(self._event(Kind.CONTACT, phone=phone))

    async def shares_location(self, latitude: float, longitude: float) -> list[Reply]:
        return await self.send(self._event(Kind.LOCATION, latitude=latitude, longitude=longitude))

    async def sends_sticker(self) -> list[Reply]:
        return await self.send(self._event(Kind.UNSUPPORTED))

    # -- reading --------------------------------------------------------------
    @property
    def text(self) -> str:
        return "\n\n".join(reply.full_text() for reply in self.last)

    @property
    def buttons(self) -> list[str]:
        return [b.label for reply in self.last for row in reply.buttons for b in row]

    def payload_of(self, label: str) -> str:
        wanted = label.casefold()
        for reply in self.last:
            for row in reply.buttons:
                for button in row:
                    if wanted in button.label.casefold():
                        return button.payload
        raise ConversationError(f"no button {label!r}; buttons were {self.buttons}")

    def expect(self, *patterns: str, buttons: list[str] | None = None) -> None:
        """Every pattern (a regex, case-insensitive) appears in the last replies' text."""
        for pattern in patterns:
            if not re.search(pattern, self.text, re.IGNORECASE | re.DOTALL):
                raise ConversationError(f"expected {pattern!r} in:\n{self.text}")
        for label in buttons or []:
            self.payload_of(label)

    def expect_not(self, *patterns: str) -> None:
        for pattern in patterns:
            if re.search(pattern, self.text, re.IGNORECASE | re.DOTALL):
                raise ConversationError(f"did not expect {pattern!r} in:\n{self.text}")
