"""At most N sends in any one-second window, per platform.

A token bucket allows a burst of N right after a quiet second and then N more
at once when it refills, which a platform measuring a sliding window sees as
up to 2N. This limiter remembers the moment of each of the last N sends and
lets the next one through only when the oldest of them is a full period old,
so *every* window of one period holds at most N sends.

The platform counts a send when it arrives, somewhere between the moment we
start it and the moment its answer comes back, and a busy event loop makes
that delay uneven. So a send holds its place in the window from when it is
started until one period after it *completed* (`release`): the next send that
needs the place starts no earlier than that, and therefore arrives at least
one full period after the earlier one arrived, however late either was.

A caller with work to do before its send (the outbox worker commits the row's
``handed_at``) may take a place that frees within `ahead` seconds and do that
work meanwhile; `turn` then waits until the place is free. Without it, that
work sat inside the place's time: tens of milliseconds of every 1.04 s on a
busy SQLite, 4 % of the rate. Safety is unchanged: every place given back
frees at a moment no later send starts before (`_floor`), so at any instant at
most N sends are between their start and one period after their completion.

A platform that answers "too many requests, retry after S" pauses the whole
limiter: Telegram's flood control is per bot, not per chat.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable


class Ticket:
    """One granted send; `release` it when the platform has answered."""

    __slots__ = ("done_at", "not_before")

    def __init__(self) -> None:
        self.done_at: float | None = None
        #: the send starts no earlier (`SlidingWindowLimiter.turn`)
        self.not_before = 0.0


class SlidingWindowLimiter:
    def __init__(
        self,
        rate: float,
        *,
        period: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        if rate >= 1:
            self.capacity, self.period = math.floor(rate), period
        else:  # slower than one a second: one send per 1/rate seconds
            self.capacity, self.period = 1, period / rate
        self._clock = clock
        self._held: deque[Ticket] = deque()  # in the order granted, one entry per send
        self._resume_at = 0.0
        #: the latest moment a place given back frees: no send granted since starts earlier
        self._floor = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self, cost: int = 1, *, ahead: float = 0.0) -> Ticket:
        """Wait until `cost` sends fit in the window, or will within `ahead` seconds; the
        caller awaits `turn`, sends, then `release`s. (`turn` returns at once unless a
        place was lent ahead, by this call or by an earlier one that freed it early.)

        Waiters are served in arrival order (the lock is fair).
        """
        cost = max(1, min(cost, self.capacity))
        ticket = Ticket()
        async with self._lock:
            while True:
                horizon = self._clock() + ahead
                if horizon < self._resume_at:
                    await asyncio.sleep(self._resume_at - horizon)
                    continue
                held = self._held
                while (
                    held
                    and held[0].done_at is not None
                    and horizon - held[0].done_at >= self.period
                ):
                    self._floor = max(self._floor, held[0].done_at + self.period)
                    held.popleft()
                if len(held) + cost <= self.capacity:
                    held.extend([ticket] * cost)
                    ticket.not_before = self._floor
                    return ticket
                first = held[0].done_at
                # still in flight: its place frees one period after it completes
                wait = 0.002 if first is None else max(first + self.period - horizon, 0.0005)
                await asyncio.sleep(wait)

    async def turn(self, ticket: Ticket) -> None:
        """Until the ticket's send may start: its place is free and no pause holds."""
        while True:
            wait = max(ticket.not_before, self._resume_at) - self._clock()
            if wait <= 0:
                return
            await asyncio.sleep(wait)

    def release(self, ticket: Ticket) -> None:
        """The send is complete (answered, failed or abandoned)."""
        if ticket.done_at is None:
            ticket.done_at = self._clock()

    def pause(self, seconds: float) -> None:
        """The platform asked us to wait: nobody sends before `seconds` from now."""
        self._resume_at = max(self._resume_at, self._clock() + max(seconds, 0.0))

    @property
    def paused_for(self) -> float:
        return max(self._resume_at - self._clock(), 0.0)
