"""One retry policy for calls to other services (tenacity), instead of a loop in each caller.

    async for attempt in retrying(attempts=3, backoff=0.25, budget=6.0, on=Transient):
        with attempt:
            return await call()

Waits grow exponentially from `backoff` (0.25 s, 0.5 s, 1 s …, at most `max_backoff`);
with a `budget`, no attempt starts when its wait would end past it, so a person is
never held up longer than that. Only the failures `on` names are retried — exception
types, or a predicate for when the type alone does not say (Telegram's 413 is a
bad request, its 5xx a server error). After the last attempt the last failure is
raised as it was.

When the other side says how long to wait (HTTP 429 `retry_after`), `retry_after`
reads that from the failure and the wait is exactly that, in place of the backoff.
A wait longer than `max_retry_after` is not waited out: that failure is raised at
once, because holding a person up for minutes is worse than a clear failure the
caller can report or reschedule.

`before_sleep(failure, attempts_made, wait)` is called before each wait, for a log
line; callers keep personal data out of it (the failure's type or code, not its text).
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    retry_if_exception_type,
    stop_after_attempt,
    stop_before_delay,
    wait_exponential,
)
from tenacity.retry import retry_base
from tenacity.stop import stop_base

T = TypeVar("T")

#: how long before the budget's end an attempt is no longer worth starting
MARGIN = 0.05

Failures = type[BaseException] | tuple[type[BaseException], ...]
RetryAfter = Callable[[BaseException], float | None]
BeforeSleep = Callable[[BaseException, int, float], None]


def retrying(
    *,
    attempts: int,
    backoff: float,
    on: Failures | Callable[[BaseException], bool],
    budget: float | None = None,
    max_backoff: float = math.inf,
    retry_after: RetryAfter | None = None,
    max_retry_after: float = math.inf,
    before_sleep: BeforeSleep | None = None,
) -> AsyncRetrying:
    stop: stop_base = stop_after_attempt(attempts)
    if budget is not None:
        stop = stop | stop_before_delay(budget - MARGIN)
    retry: retry_base = (
        retry_if_exception_type(on) if isinstance(on, type | tuple) else retry_if_exception(on)
    )
    backoff_wait = wait_exponential(multiplier=backoff, exp_base=2, min=0, max=max_backoff)

    def wait(state: RetryCallState) -> float:
        failure = state.outcome.exception() if state.outcome is not None else None
        asked = retry_after(failure) if retry_after is not None and failure is not None else None
        return backoff_wait(state) if asked is None else max(asked, 0.0)

    if retry_after is not None:
        retry = retry & retry_if_exception(
            lambda failure: (retry_after(failure) or 0.0) <= max_retry_after
        )

    def announce(state: RetryCallState) -> None:
        failure = state.outcome.exception() if state.outcome is not None else None
        if before_sleep is not None and failure is not None:
            before_sleep(failure, state.attempt_number, state.upcoming_sleep)

    return AsyncRetrying(
        stop=stop,
        wait=wait,
        retry=retry,
        before_sleep=announce if before_sleep is not None else None,
        reraise=True,
    )


async def attempt_then_retrying(make: Callable[[], Awaitable[T]], **policy: Any) -> T:
    """`make()` once, outside tenacity; only a failure enters `retrying(**policy)`, which
    takes it as its first attempt (the same decision, wait and `before_sleep` line as
    if tenacity had made the call). For hot calls that nearly always succeed at once:
    tenacity's machinery cost a fifth of a Telegram send. A `budget` counts from the
    first failure."""
    try:
        return await make()
    except Exception as exc:
        first: Exception | None = exc
    async for attempt in retrying(**policy):
        with attempt:
            if first is not None:
                failure, first = first, None
                raise failure
            return await make()
    raise AssertionError("unreachable: the last attempt returns or raises")
