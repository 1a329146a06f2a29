"""Optional live source of statuses: an HTTP JSON registry at REGISTRY_URL.

    POST {REGISTRY_URL}/applications/lookup
    {"number": "VPO-2026-000123", "birth_date": "1984-03-15"}
    → 200 {"status": "in_review", "updated_at": "2026-11-20T10:00:00+02:00", "note": ""}
    → 404 when the number is unknown or the birth date does not match

Both identifiers travel in the body, never in the URL, so they stay out of
proxy and access logs. A slow or failing registry must not hold a person up:
each attempt has a 3 s timeout, transient failures are retried with backoff
within a total budget, and after repeated failures a circuit breaker stops
calling for a while. Callers then show the last known status with its "as of".
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import aiohttp

from bot.retry import retrying
from bot.services.status.changes import Record
from bot.services.status.numbers import ApplicationNumber, parse_timestamp
from bot.services.status.texts import STATUSES

log = logging.getLogger(__name__)

LOOKUP_PATH = "/applications/lookup"


class RegistryUnavailable(Exception):
    """The registry did not give a usable answer (down, slow, malformed, circuit open)."""


class _Transient(Exception):
    pass


@dataclass
class CircuitBreaker:
    """Closed → open after `threshold` failed calls in a row → one trial call after `cooldown`."""

    clock: Callable[[], datetime]
    threshold: int = 3
    cooldown: timedelta = timedelta(seconds=30)
    failures: int = 0
    opened_at: datetime | None = None

    def allow(self) -> bool:
        if self.opened_at is None:
            return True
        return self.clock() - self.opened_at >= self.cooldown

    @property
    def is_open(self) -> bool:
        return not self.allow()

    def succeeded(self) -> None:
        self.failures = 0
        self.opened_at = None

    def failed(self) -> None:
        self.failures += 1
        if self.failures >= self.threshold:
            if self.opened_at is None or self.allow():
                log.warning("status registry: circuit open after %d failures", self.failures)
            self.opened_at = self.clock()


class RegistryClient:
    def __init__(
        self,
        base_url: str,
        *,
        clock: Callable[[], datetime],
        timeout: float = 3.0,
        retries: int = 2,
        backoff: float = 0.25,
        budget: float = 6.0,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("REGISTRY_URL must start with http:// or https://")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.budget = budget
        self.breaker = breaker or CircuitBreaker(clock=clock)

    async def fetch(self, number: ApplicationNumber, birth_date: date) -> Record | None:
        """The registry's record, or None for "not found or does not match"."""
        if not self.breaker.allow():
            raise RegistryUnavailable("circuit open")
        try:
            found = await self._with_retries(number, birth_date)
        except RegistryUnavailable:
            self.breaker.failed()
            raise
        self.breaker.succeeded()
        return found

    async def _with_retries(self, number: ApplicationNumber, birth_date: date) -> Record | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.budget
        try:
            async for attempt in retrying(
                attempts=self.retries + 1, backoff=self.backoff, budget=self.budget, on=_Transient
            ):
                with attempt:
                    timeout = min(self.timeout, deadline - loop.time())
                    if timeout <= 0:
                        raise _Transient("out of time")
                    return await self._fetch_once(number, birth_date, timeout)
        except _Transient as exc:
            log.warning("status registry unavailable: %s", exc)
            raise RegistryUnavailable(str(exc)) from None
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _fetch_once(
        self, number: ApplicationNumber, birth_date: date, seconds: float
    ) -> Record | None:
        body = {"number": number.printed, "birth_date": birth_date.isoformat()}
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=seconds)) as http,
                http.post(self.base_url + LOOKUP_PATH, json=body) as response,
            ):
                if response.status == 404:
                    return None
                if response.status == 429 or response.status >= 500:
                    raise _Transient(f"HTTP {response.status}")
                if response.status != 200:
                    # 4xx other than 404: our request or credentials are wrong; retrying won't help
                    raise RegistryUnavailable(f"HTTP {response.status}")
                data = await response.json(content_type=None)
        except TimeoutError:
            raise _Transient("timeout") from None
        except aiohttp.ClientError as exc:
            raise _Transient(type(exc).__name__) from None
        except ValueError:
            raise RegistryUnavailable("response is not JSON") from None
        return _record(data, number, birth_date)


def _record(data: Any, number: ApplicationNumber, birth_date: date) -> Record:
    if not isinstance(data, dict):
        raise RegistryUnavailable("response is not a JSON object")
    status = data.get("status")
    updated_at = parse_timestamp(str(data.get("updated_at", "")))
    note = data.get("note") or ""
    if status not in STATUSES or updated_at is None or not isinstance(note, str):
        raise RegistryUnavailable("response lacks a known status or updated_at")
    return Record(
        number=number,
        birth_date=birth_date,
        status=status,
        updated_at=updated_at,
        note=note,
    )
