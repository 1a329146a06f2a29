"""An asynchronous client for the Viber REST API (aiohttp).

The `viberbot` package sends with `requests` and would block the event loop, so
only its message models are used (see `render.py`); every request goes out here.
Viber answers HTTP 200 even for errors: the JSON `status` carries the result.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import aiohttp

from bot.retry import retrying

log = logging.getLogger(__name__)

AUTH_HEADER = "X-Viber-Auth-Token"
BROADCAST_LIMIT = 300
RETRIES_ON_TOO_MANY = 3
BACKOFF_SECONDS = 1.0
TIMEOUT_SECONDS = 10.0


class Status(IntEnum):
    OK = 0
    INVALID_URL = 1
    INVALID_AUTH_TOKEN = 2
    BAD_DATA = 3
    MISSING_DATA = 4
    RECEIVER_NOT_REGISTERED = 5
    RECEIVER_NOT_SUBSCRIBED = 6
    PUBLIC_ACCOUNT_BLOCKED = 7
    PUBLIC_ACCOUNT_NOT_FOUND = 8
    PUBLIC_ACCOUNT_SUSPENDED = 9
    WEBHOOK_NOT_SET = 10
    RECEIVER_NO_SUITABLE_DEVICE = 11
    TOO_MANY_REQUESTS = 12


def encode(payload: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON: Viber counts its 30 KB limit in bytes, and escaping every
    Cyrillic letter as \\uXXXX would triple a Ukrainian message's size."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


class ViberUnavailable(Exception):
    """The API could not be reached or did not answer with JSON (network, 5xx, timeout)."""


class _TooManyRequests(Exception):
    """Status 12, raised only to be retried; after the last retry its response is returned."""

    def __init__(self, response: ViberResponse) -> None:
        super().__init__("too many requests")
        self.response = response


@dataclass(frozen=True, slots=True)
class Failure:
    receiver: str
    status: int
    status_message: str


@dataclass(frozen=True, slots=True)
class ViberResponse:
    status: int
    status_message: str
    message_token: int | None = None
    failed: tuple[Failure, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == Status.OK

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ViberResponse:
        failed = tuple(
            Failure(
                receiver=str(item.get("receiver", "")),
                status=int(item.get("status", -1)),
                status_message=str(item.get("status_message", "")),
            )
            for item in data.get("failed_list") or []
            if isinstance(item, dict)
        )
        token = data.get("message_token")
        return cls(
            status=int(data.get("status", -1)),
            status_message=str(data.get("status_message", "")),
            message_token=int(token) if token is not None else None,
            failed=failed,
            data=data,
        )


class ViberClient:
    """One bot account. Call `close()` when done (the adapter does, at server cleanup)."""

    def __init__(
        self,
        token: str,
        base_url: str,
        *,
        retries: int = RETRIES_ON_TOO_MANY,
        backoff: float = BACKOFF_SECONDS,
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        self._token = token
        self.base_url = base_url.rstrip("/")
        self.retries = retries
        self.backoff = backoff
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:  # never show the token
        return f"ViberClient({self.base_url!r})"

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=self._timeout, headers={AUTH_HEADER: self._token}
            )
        return self._session

    async def call(self, endpoint: str, payload: dict[str, Any]) -> ViberResponse:
        """POST one request; status 12 (too many requests) is retried with backoff."""
        try:
            async for attempt in retrying(
                attempts=self.retries + 1,
                backoff=self.backoff,
                on=_TooManyRequests,
                before_sleep=lambda _, made, wait: log.warning(
                    "Viber %s: too many requests, retry %d in %.2fs", endpoint, made, wait
                ),
            ):
                with attempt:
                    response = await self._post(endpoint, payload)
                    if response.status == Status.TOO_MANY_REQUESTS:
                        raise _TooManyRequests(response)
        except _TooManyRequests as exc:
            response = exc.response
        if not response.ok:
            log.warning(
                "Viber %s failed: status %s (%s)",
                endpoint,
                response.status,
                response.status_message,
            )
        return response

    async def _post(self, endpoint: str, payload: dict[str, Any]) -> ViberResponse:
        url = f"{self.base_url}/{endpoint}"
        try:
            async with self._http().post(
                url, data=encode(payload), headers={"Content-Type": "application/json"}
            ) as http:
                if http.status != 200:
                    raise ViberUnavailable(f"{endpoint}: HTTP {http.status}")
                data = await http.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise ViberUnavailable(f"{endpoint}: {type(exc).__name__}") from None
        if not isinstance(data, dict):
            raise ViberUnavailable(f"{endpoint}: not a JSON object")
        return ViberResponse.from_json(data)

    # -- endpoints ------------------------------------------------------------
    async def set_webhook(self, url: str, event_types: Sequence[str]) -> ViberResponse:
        # Names and photos are not needed to help anyone: ask Viber not to send them.
        return await self.call(
            "set_webhook",
            {
                "url": url,
                "event_types": list(event_types),
                "send_name": False,
                "send_photo": False,
            },
        )

    async def send_message(self, receiver: str, message: dict[str, Any]) -> ViberResponse:
        return await self.call("send_message", {**message, "receiver": receiver})

    async def broadcast_message(
        self, receivers: Sequence[str], message: dict[str, Any]
    ) -> ViberResponse:
        if len(receivers) > BROADCAST_LIMIT:
            raise ValueError(f"at most {BROADCAST_LIMIT} receivers per broadcast")
        return await self.call("broadcast_message", {**message, "broadcast_list": list(receivers)})

    async def get_account_info(self) -> ViberResponse:
        return await self.call("get_account_info", {})
