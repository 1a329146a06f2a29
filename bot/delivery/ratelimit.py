"""At most N sends in any one-second window, per platform.

A token bucket allows a burst of N right after a quiet second and then N more
at once when it refills, which a platform measuring a sliding window sees as
up to 2N. This limiter remembers the moment of each of the last N sends and
lets the next one through only when the oldest of them is a full period old,
so *every* window of one period holds at most N sends.

The platform counts a send when it arrives, a little after we counted it,
and not always equally late; so a window here is `MARGIN` longer than the
period, lest two sends exactly one period apart on our side land inside one
period on theirs.

A platform that answers "too many requests, retry after S" pauses the whole
limiter: Telegram's flood control is per bot, not per chat.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable

MARGIN = 0.01  # seconds


class SlidingWindowLimiter:
    def __init__(
        self,
        rate: float,
        *,
        period: float = 1.0,
        margin: float = MARGIN,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        if rate >= 1:
            self.capacity, self.period = math.floor(rate), period + margin
        else:  # slower than one a second: one send per 1/rate seconds
            self.capacity, self.period = 1, period / rate + margin
        self._clock = clock
        self._stamps: deque[float] = deque()
        self._resume_at = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self, cost: int = 1) -> None:
        """Wait until `cost` sends fit in the window, then count them as sent now.

        Waiters are served in arrival order (the lock is fair), and the caller
        must send right after this returns, without awaiting anything else
        first, so the platform sees the sends at the moments counted here.
        """
        cost = max(1, min(cost, self.capacity))
        async with self._lock:
            while True:
                now = self._clock()
                if now < self._resume_at:
                    await asyncio.sleep(self._resume_at - now)
                    continue
                while self._stamps and now - self._stamps[0] >= self.period:
                    self._stamps.popleft()
                if len(self._stamps) + cost <= self.capacity:
                    self._stamps.extend([now] * cost)
                    return
                # the moment enough old sends have left the window
                oldest_needed = self._stamps[len(self._stamps) + cost - self.capacity - 1]
                await asyncio.sleep(max(oldest_needed + self.period - now, 0.0))

    def pause(self, seconds: float) -> None:
        """The platform asked us to wait: nobody sends before `seconds` from now."""
        self._resume_at = max(self._resume_at, self._clock() + max(seconds, 0.0))

    @property
    def paused_for(self) -> float:
        return max(self._resume_at - self._clock(), 0.0)
