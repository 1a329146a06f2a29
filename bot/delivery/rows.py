"""What the outbox worker claims and what becomes of it: the rows a settle hook sees.

Apart from the worker so that a feature's settle hook (announcements closing when
nothing is left to send) can be typed without importing the worker itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.engine.events import Reply, reply_from_json

__all__ = ["Claimed", "SettleHook", "Settled"]


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    person_id: int
    platform: str
    user_id: str
    kind: str
    body: list[dict[str, Any]]
    announcement_id: int | None
    attempts: int
    wants_announcements: bool
    reachable: bool
    not_before: datetime | None = None
    not_after: datetime | None = None

    @property
    def replies(self) -> list[Reply]:
        return [reply_from_json(item) for item in self.body]


@dataclass(frozen=True, slots=True)
class Settled:
    """What becomes of a claimed row; written in bulk by `_flush`."""

    row: Claimed
    state: str  # pending (retry) | sent | blocked | failed | skipped | cancelled
    result: str  # the metrics label
    attempts: int
    reason: str = ""
    sent_at: datetime | None = None
    retry_at: datetime | None = None
    ref: str = ""  # the platform's message id, for receipts (Viber)


SettleHook = Callable[[AsyncSession, Sequence[Settled], datetime], Awaitable[None]]
"""A feature's step in the worker's outcome transaction, given the batch and the time."""
