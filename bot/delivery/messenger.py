"""What a messenger adapter offers to the outbox worker: send replies to one person."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from bot.engine.events import Reply


class Outcome(StrEnum):
    SENT = "sent"
    BLOCKED = "blocked"  # the person blocked the bot or left: stop writing to them
    RATE_LIMITED = "rate_limited"  # try again after `retry_after` seconds
    TRANSIENT = "transient"  # network or 5xx: retry with backoff
    FAILED = "failed"  # permanent (bad request): keep the reason, do not retry


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    outcome: Outcome
    retry_after: float | None = None
    reason: str = ""  # platform error code or short description; never message text
    #: the platform's id of what was sent (a Viber message token), to match its receipts
    ref: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.SENT


class Messenger(Protocol):
    """One platform's sending side, implemented by its adapter in `handlers/`."""

    #: "telegram", "viber", "terminal" — the `Person.platform` it serves
    platform: str
    #: how many recipients one `deliver_many` call may take (Viber broadcast: 300)
    max_batch: int
    # Optional `only_users: frozenset[str]`: the messenger reaches only these user ids
    # (a terminal chat); the outbox worker then claims only their rows.

    async def deliver(self, user_id: str, replies: Sequence[Reply]) -> DeliveryResult: ...

    async def deliver_many(
        self, user_ids: Sequence[str], reply: Reply
    ) -> dict[str, DeliveryResult]:
        """The same reply to many people (Viber `broadcast_message`); one result each."""
        ...


class Messengers:
    """The messengers this process can send through, by platform."""

    def __init__(self) -> None:
        self._by_platform: dict[str, Messenger] = {}

    def add(self, messenger: Messenger) -> None:
        self._by_platform[messenger.platform] = messenger

    def get(self, platform: str) -> Messenger | None:
        return self._by_platform.get(platform)

    def platforms(self) -> list[str]:
        return list(self._by_platform)

    def __bool__(self) -> bool:
        return bool(self._by_platform)
