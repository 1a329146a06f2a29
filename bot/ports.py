"""The small seams through which features reach the running bot, passed in, never looked up.

A service or dialog that needs a side effect outside its own transaction asks
for one of these protocols as an argument; the composition root hands it the
real object (the outbox worker, the people repository behind a session
factory …) and a test hands it a recorder. Nothing here imports a feature,
the engine, an adapter or storage, so every layer may depend on this module.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from aiohttp import web

_App = TypeVar("_App")

#: A coroutine function a background service runs until it is cancelled.
Job = Callable[[], Coroutine[Any, Any, None]]

#: The current time, always timezone-aware (UTC). Injected so tests control time.
Clock = Callable[[], datetime]

#: A messenger adapter plugs into the bot's HTTP server before it starts: given the
#: running bot and the web application, it may add routes (webhooks) and returns a job
#: to run beside the server (polling, registering the webhook) or None. Generic in the
#: bot it is given, so this module names no part of it (`Adapter[App]` in bot/wiring.py).
Adapter = Callable[[_App, "web.Application"], Coroutine[Any, Any, Job | None]]


class OutboxSignal(Protocol):
    """Tells the outbox worker(s) of this process that rows are waiting.

    Called after a commit that enqueued something, so a message goes out at
    once instead of at the worker's next poll. Losing a wake-up is harmless
    (the poll still finds the row). `due` is when the earliest row queued may go
    out (None: at once): a row for later needs no wake, the poll finds it then.
    """

    def wake(self, due: datetime | None = None) -> None: ...


def due_now(due: datetime | None, now: datetime) -> bool:
    """Whether a wake for rows due at `due` (None: at once) concerns `now`: a row for
    later is found by the listener's own poll once due."""
    return due is None or due <= now


class Reachability(Protocol):
    """Records that a person can no longer be written to (blocked the bot, left Viber)."""

    async def mark_unreachable(self, platform: str, platform_user_id: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Receiver:
    """What a messenger that needs consent first (Viber) must know before writing."""

    subscribed: bool
    api_version: int | None  # the level of their client's API, when it told us


class Subscribers(Reachability, Protocol):
    """Who may be written to on Viber: only people who subscribed (or wrote first)."""

    async def receivers(self, platform: str, user_ids: Sequence[str]) -> dict[str, Receiver]:
        """The people among `user_ids` we know, by id (an unknown id is missing)."""
        ...

    async def mark_unsubscribed(self, platform: str, user_ids: Sequence[str]) -> None:
        """They left: never written to until they write again."""
        ...


class Receipts(Protocol):
    """Delivered / seen / failed callbacks, kept by message token (announcement reports)."""

    async def record(
        self, *, message_token: str, event: str, user_id: str, at: datetime, reason: str = ""
    ) -> bool:
        """Keep one receipt; False when this very callback was kept before (a re-delivery)."""
        ...


class NoSignal:
    """An `OutboxSignal` for processes without a worker (CLI commands, some tests)."""

    def wake(self, due: datetime | None = None) -> None:
        return None
