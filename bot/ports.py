"""The small seams through which features reach the running bot, passed in, never looked up.

A service or dialog that needs a side effect outside its own transaction asks
for one of these protocols as an argument; the composition root hands it the
real object (the outbox worker, the people repository behind a session
factory …) and a test hands it a recorder. Nothing here imports a feature,
the engine, an adapter or storage, so every layer may depend on this module.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
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
    (the poll still finds the row); calling it too often is cheap.
    """

    def wake(self) -> None: ...


class Reachability(Protocol):
    """Records that a person can no longer be written to (blocked the bot, left Viber)."""

    async def mark_unreachable(self, platform: str, platform_user_id: str) -> None: ...


class NoSignal:
    """An `OutboxSignal` for processes without a worker (CLI commands, some tests)."""

    def wake(self) -> None:
        return None
