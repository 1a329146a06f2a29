"""The one retry policy (bot/retry.py): which failures are retried, and how long it waits.

The waits are recorded, not slept: tenacity takes the sleep function as an argument.
"""

from __future__ import annotations

import pytest
from tenacity import AsyncRetrying

from bot.retry import retrying


class Busy(Exception):
    """A failure whose answer may say how long to wait (like HTTP 429's retry_after)."""

    def __init__(self, retry_after: float | None = None) -> None:
        super().__init__("busy")
        self.retry_after = retry_after


class Broken(Exception):
    pass


def asked(failure: BaseException) -> float | None:
    return failure.retry_after if isinstance(failure, Busy) else None


async def run(
    policy: AsyncRetrying, failures: list[BaseException], waits: list[float]
) -> tuple[str, int]:
    """Fail with `failures` in turn, then succeed; the result and the number of calls."""
    calls = 0

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async def call() -> str:
        nonlocal calls
        calls += 1
        if failures:
            raise failures.pop(0)
        return "ok"

    async for attempt in policy.copy(sleep=sleep):
        with attempt:
            return await call(), calls
    raise AssertionError("unreachable")


async def test_backoff_doubles_up_to_its_cap() -> None:
    waits: list[float] = []
    policy = retrying(attempts=5, backoff=0.5, max_backoff=1.5, on=Busy)
    assert await run(policy, [Busy(), Busy(), Busy(), Busy()], waits) == ("ok", 5)
    assert waits == [0.5, 1.0, 1.5, 1.5]


async def test_the_wait_the_answer_asks_for_replaces_the_backoff() -> None:
    waits: list[float] = []
    policy = retrying(attempts=4, backoff=0.5, on=Busy, retry_after=asked, max_retry_after=60)
    assert await run(policy, [Busy(retry_after=7), Busy(), Busy(retry_after=60)], waits) == (
        "ok",
        4,
    )
    assert waits == [7, 1.0, 60]  # the second failure said nothing: backoff as usual


async def test_a_wait_longer_than_the_cap_is_not_waited_for() -> None:
    waits: list[float] = []
    policy = retrying(attempts=4, backoff=0.5, on=Busy, retry_after=asked, max_retry_after=60)
    with pytest.raises(Busy) as raised:
        await run(policy, [Busy(retry_after=7), Busy(retry_after=61)], waits)
    assert raised.value.retry_after == 61  # raised as it was, at once
    assert waits == [7]


async def test_the_last_attempt_raises_even_when_the_answer_asks_to_wait() -> None:
    waits: list[float] = []
    policy = retrying(attempts=2, backoff=0.5, on=Busy, retry_after=asked, max_retry_after=60)
    with pytest.raises(Busy):
        await run(policy, [Busy(retry_after=1), Busy(retry_after=1), Busy()], waits)
    assert waits == [1]


async def test_a_predicate_chooses_what_is_retried() -> None:
    waits: list[float] = []

    def transient(failure: BaseException) -> bool:
        return isinstance(failure, Busy) and failure.retry_after != 0

    policy = retrying(attempts=4, backoff=0.5, on=transient)
    assert await run(policy, [Busy(retry_after=None)], waits) == ("ok", 2)
    with pytest.raises(Busy):
        await run(policy, [Busy(retry_after=0)], waits)
    with pytest.raises(Broken):
        await run(policy, [Broken()], waits)
    assert waits == [0.5]


async def test_before_sleep_hears_the_failure_the_attempts_and_the_wait() -> None:
    heard: list[tuple[str, int, float]] = []
    policy = retrying(
        attempts=3,
        backoff=0.5,
        on=Busy,
        retry_after=asked,
        before_sleep=lambda failure, made, wait: heard.append(
            (type(failure).__name__, made, wait)
        ),
    )
    assert await run(policy, [Busy(), Busy(retry_after=3)], []) == ("ok", 3)
    assert heard == [("Busy", 1, 0.5), ("Busy", 2, 3)]
