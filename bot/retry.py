"""One retry policy for calls to other services (tenacity), instead of a loop in each caller.

    async for attempt in retrying(attempts=3, backoff=0.25, budget=6.0, on=Transient):
        with attempt:
            return await call()

Waits grow exponentially from `backoff` (0.25 s, 0.5 s, 1 s …, at most `max_backoff`);
with a `budget`, no attempt starts when its wait would end past it, so a person is
never held up longer than that. Only the exceptions named in `on` are retried; after
the last attempt the last of them is raised as it was.
"""

from __future__ import annotations

import math

from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_before_delay,
    wait_exponential,
)
from tenacity.stop import stop_base

#: how long before the budget's end an attempt is no longer worth starting
MARGIN = 0.05


def retrying(
    *,
    attempts: int,
    backoff: float,
    on: type[BaseException] | tuple[type[BaseException], ...],
    budget: float | None = None,
    max_backoff: float = math.inf,
) -> AsyncRetrying:
    stop: stop_base = stop_after_attempt(attempts)
    if budget is not None:
        stop = stop | stop_before_delay(budget - MARGIN)
    return AsyncRetrying(
        stop=stop,
        wait=wait_exponential(multiplier=backoff, exp_base=2, min=0, max=max_backoff),
        retry=retry_if_exception_type(on),
        reraise=True,
    )
