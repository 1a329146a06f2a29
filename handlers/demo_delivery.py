"""Where bot-initiated messages go in `make demo`, where no messenger is connected.

- `TerminalMessenger` prints them into the terminal chat ("📨 …"), for the
  person at the keyboard only (platform "terminal", their `--user`). Several
  terminal chats may share one database: each process's worker claims only
  its own person's rows (`only_users`), so nobody sees another's messages and
  no row is marked sent in the wrong window.
- `TranscriptMessenger` stands in for Telegram and Viber when they have no
  token: it appends each delivery (platform, recipient, first line) to a
  transcript file, so a staff member can see an announcement reach every demo
  person once. It is enabled only by the `DEMO_TRANSCRIPT` setting, which
  `make demo` sets; a production configuration never has it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bot.delivery import DeliveryResult, Outcome
from bot.engine import Reply

if TYPE_CHECKING:
    from bot.wiring import App


class TerminalMessenger:
    platform = "terminal"
    max_batch = 1

    def __init__(self, out: TextIO, user_id: str) -> None:
        self.out = out
        self.user_id = user_id
        #: the outbox worker claims terminal rows for this person only
        self.only_users = frozenset({user_id})

    async def deliver(self, user_id: str, replies: Sequence[Reply]) -> DeliveryResult:
        if user_id != self.user_id:  # another terminal's person: never print it here
            return DeliveryResult(Outcome.TRANSIENT, reason="another terminal")
        for reply in replies:
            print(f"\n📨 {reply.full_text()}", file=self.out, flush=True)
            labels = [button.label for row in reply.buttons for button in row]
            if labels:
                # The chat's numbers belong to its last screen, not to this message.
                print(
                    f"  ({' · '.join(labels)}: in a messenger these are buttons; "
                    "here, find the same choice from the menu)",
                    file=self.out,
                    flush=True,
                )
        return DeliveryResult(Outcome.SENT)

    async def deliver_many(
        self, user_ids: Sequence[str], reply: Reply
    ) -> dict[str, DeliveryResult]:
        return {user_id: await self.deliver(user_id, [reply]) for user_id in user_ids}


def as_line(reply: Reply) -> str:
    """The whole message as received (title, text, footer), on one transcript line:
    exactly what the staff preview showed, line breaks written as \\n."""
    return reply.full_text().replace("\\", "\\\\").replace("\n", "\\n")


class TranscriptMessenger:
    def __init__(self, platform: str, path: Path, *, max_batch: int = 1) -> None:
        self.platform = platform
        self.path = path
        self.max_batch = max_batch

    def _append(self, lines: list[str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.writelines(line + "\n" for line in lines)

    async def deliver(self, user_id: str, replies: Sequence[Reply]) -> DeliveryResult:
        lines = [f"{self.platform}\t{user_id}\t{as_line(reply)}" for reply in replies]
        await asyncio.to_thread(self._append, lines)
        return DeliveryResult(Outcome.SENT)

    async def deliver_many(
        self, user_ids: Sequence[str], reply: Reply
    ) -> dict[str, DeliveryResult]:
        lines = [f"{self.platform}\t{user_id}\t{as_line(reply)}" for user_id in user_ids]
        await asyncio.to_thread(self._append, lines)
        return {user_id: DeliveryResult(Outcome.SENT) for user_id in user_ids}


def add_demo_messengers(app: App, terminal: TextIO | None = None, user_id: str = "demo") -> None:
    """Fill the platforms that have no real messenger in this process (demo only).

    Terminal people's messages are never written to the transcript: each is for
    the chat window of that one person, shown when their chat runs.
    """
    if terminal is not None and app.messengers.get("terminal") is None:
        app.messengers.add(TerminalMessenger(terminal, user_id))
    transcript = app.settings.demo_transcript
    if transcript is None:
        return
    for platform, batch in (("telegram", 1), ("viber", 300)):
        if app.messengers.get(platform) is None:
            app.messengers.add(TranscriptMessenger(platform, transcript, max_batch=batch))
