"""A strict Viber REST API double on 127.0.0.1, plus the Viber app side of a person.

It plays both halves of Viber for a test:

* the REST API the bot calls (`/pa/set_webhook`, `send_message`, `broadcast_message`,
  `get_account_info`), validating like Viber does — auth token, subscription
  (status 6), keyboard limits, text length, sender name — and recording what it
  accepted;
* the people: `person.opens()`, `person.says("…")`, `person.presses("label")`,
  `person.shares_phone()`, `person.shares_location()` post callbacks to the bot's
  webhook, signed with the real algorithm, and keep the keyboard the person sees.

A press works only on a button of the last keyboard sent to that person (as in the
Viber app), so a test cannot press something the bot never showed.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

ACTION_TYPES = ("reply", "open-url", "location-picker", "share-phone", "none")
TEXT_LIMIT = 7000
MAX_BUTTONS = 24
SENDER_NAME_LIMIT = 28
MAX_BODY_BYTES = 30 * 1024
BROADCAST_LIMIT = 300


class ViberRejected(AssertionError):
    pass


def sign(token: str, body: bytes) -> str:
    return hmac.new(token.encode(), body, hashlib.sha256).hexdigest()


def keyboard_problem(keyboard: Any, min_api_version: int) -> str | None:
    """What Viber would refuse in a keyboard, or None."""
    if not isinstance(keyboard, dict) or keyboard.get("Type") != "keyboard":
        return "keyboard.Type must be 'keyboard'"
    buttons = keyboard.get("Buttons")
    if not isinstance(buttons, list) or not buttons:
        return "keyboard.Buttons must be a non-empty list"
    if len(buttons) > MAX_BUTTONS:
        return f"keyboard has {len(buttons)} buttons, at most {MAX_BUTTONS}"
    for index, button in enumerate(buttons):
        columns, rows = button.get("Columns", 6), button.get("Rows", 1)
        if not isinstance(columns, int) or not 1 <= columns <= 6:
            return f"button {index}: Columns must be 1..6"
        if not isinstance(rows, int) or not 1 <= rows <= 2:
            return f"button {index}: Rows must be 1..2"
        action = button.get("ActionType", "reply")
        if action not in ACTION_TYPES:
            return f"button {index}: unknown ActionType {action!r}"
        body = button.get("ActionBody")
        if not isinstance(body, str) or not body:
            return f"button {index}: ActionBody is required"
        if action in ("share-phone", "location-picker") and min_api_version < 3:
            return f"button {index}: {action} needs min_api_version >= 3"
        if len(str(button.get("Text", ""))) > 250:
            return f"button {index}: Text longer than 250"
    return None


def message_problem(body: dict[str, Any]) -> str | None:
    """What Viber would refuse in a message body (send_message or the welcome)."""
    sender = body.get("sender")
    if not isinstance(sender, dict) or not sender.get("name"):
        return "sender.name is required"
    if len(sender["name"]) > SENDER_NAME_LIMIT:
        return f"sender.name longer than {SENDER_NAME_LIMIT}"
    kind = body.get("type")
    if kind != "text":
        return f"this double only speaks text, not {kind!r}"
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        return "text is required"
    if len(text) > TEXT_LIMIT:
        return f"text has {len(text)} characters, at most {TEXT_LIMIT}"
    if "keyboard" in body:
        return keyboard_problem(body["keyboard"], int(body.get("min_api_version", 1)))
    return None


@dataclass
class Sent:
    receiver: str
    body: dict[str, Any]
    message_token: int

    @property
    def text(self) -> str:
        return str(self.body.get("text", ""))

    @property
    def keyboard(self) -> dict[str, Any] | None:
        return self.body.get("keyboard")


@dataclass
class ViberDouble:
    token: str
    account_name: str = "Соцпослуги"
    host: str = "127.0.0.1"
    webhook_url: str | None = None
    #: how many coming set_webhook checks fail as if the bot's address were not up yet
    unreachable_checks: int = 0
    #: ids Viber considers subscribed (subscribed callback or a message written)
    subscribed: set[str] = field(default_factory=set)
    #: every request the bot made: (endpoint, body)
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    #: every message accepted, in order (one per receiver for broadcasts)
    sent: list[Sent] = field(default_factory=list)
    #: the keyboard each person currently sees (Viber shows the last one received)
    keyboards: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    #: answer status 12 to this many of the next send/broadcast calls
    too_many_requests: int = 0
    #: refuse webhooks whose URL check callback does not answer 200
    webhook_checks: list[int] = field(default_factory=list)
    _tokens: itertools.count[int] = field(
        default_factory=lambda: itertools.count(5741311803571721087)
    )
    _runner: web.AppRunner | None = None
    _http: aiohttp.ClientSession | None = None
    port: int = 0

    # -- lifecycle ---------------------------------------------------------------------
    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/pa/{endpoint}", self._endpoint)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        self._http = aiohttp.ClientSession()
        return self.base_url

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/pa"

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- the REST API ------------------------------------------------------------------
    async def _endpoint(self, request: web.Request) -> web.Response:
        endpoint = request.match_info["endpoint"]
        raw = await request.read()
        try:
            body = json.loads(raw)
        except ValueError:
            return self._status(3, "badData")
        self.requests.append((endpoint, body))
        token = request.headers.get("X-Viber-Auth-Token") or body.get("auth_token")
        if not token:
            return self._status(2, "missing_auth_token")
        if token != self.token:
            return self._status(2, "invalidAuthToken")
        if len(raw) > MAX_BODY_BYTES:
            return self._status(3, "badData: body larger than 30 KB")
        handler = {
            "set_webhook": self._set_webhook,
            "send_message": self._send_message,
            "broadcast_message": self._broadcast_message,
            "get_account_info": self._get_account_info,
        }.get(endpoint)
        if handler is None:
            return self._status(3, f"badData: unknown endpoint {endpoint}")
        return await handler(body)

    @staticmethod
    def _status(status: int, message: str, **extra: Any) -> web.Response:
        # Viber answers HTTP 200 even for errors.
        return web.json_response({"status": status, "status_message": message, **extra})

    async def _set_webhook(self, body: dict[str, Any]) -> web.Response:
        url = body.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            return self._status(1, "invalidUrl")
        # Viber checks the URL with a `webhook` callback before answering.
        check = {
            "event": "webhook",
            "timestamp": 1764000000000,
            "message_token": next(self._tokens),
        }
        if self.unreachable_checks > 0:  # the bot's public address is not up yet
            self.unreachable_checks -= 1
            status = 0
        else:
            try:
                status, _ = await self._post(url, check)
            except aiohttp.ClientError:
                status = 0
        self.webhook_checks.append(status)
        if status != 200:
            return self._status(1, "invalidUrl")
        self.webhook_url = url
        return self._status(0, "ok", event_types=body.get("event_types", []))

    def _take_too_many(self) -> bool:
        if self.too_many_requests > 0:
            self.too_many_requests -= 1
            return True
        return False

    async def _send_message(self, body: dict[str, Any]) -> web.Response:
        receiver = body.get("receiver")
        if not receiver:
            return self._status(4, "missingData: receiver")
        problem = message_problem(body)
        if problem:
            return self._status(3, f"badData: {problem}")
        if receiver not in self.subscribed:
            return self._status(6, "receiverNotSubscribed")
        if self._take_too_many():
            return self._status(12, "Too many requests")
        token = next(self._tokens)
        self._accept(receiver, body, token)
        return self._status(0, "ok", message_token=token, chat_hostname="SN-CHAT-01_")

    async def _broadcast_message(self, body: dict[str, Any]) -> web.Response:
        receivers = body.get("broadcast_list")
        if not isinstance(receivers, list) or not receivers:
            return self._status(4, "missingData: broadcast_list")
        if len(receivers) > BROADCAST_LIMIT:
            return self._status(3, f"badData: broadcast_list longer than {BROADCAST_LIMIT}")
        problem = message_problem(body)
        if problem:
            return self._status(3, f"badData: {problem}")
        if self._take_too_many():
            return self._status(12, "Too many requests")
        token = next(self._tokens)
        failed = []
        for receiver in receivers:
            if receiver in self.subscribed:
                self._accept(receiver, body, token)
            else:
                failed.append(
                    {"receiver": receiver, "status": 6, "status_message": "Not subscribed"}
                )
        return self._status(0, "ok", message_token=token, failed_list=failed)

    async def _get_account_info(self, body: dict[str, Any]) -> web.Response:
        return self._status(
            0,
            "ok",
            id="pa:0000000000000000001",
            name=self.account_name,
            uri="poruch",
            webhook=self.webhook_url or "",
            subscribers_count=len(self.subscribed),
        )

    def _accept(self, receiver: str, body: dict[str, Any], token: int) -> None:
        self.sent.append(Sent(receiver, body, token))
        self.keyboards[receiver] = body.get("keyboard")

    # -- callbacks to the bot ------------------------------------------------------------
    async def _post(
        self, url: str, payload: dict[str, Any], *, signature: str | None = None
    ) -> tuple[int, Any]:
        assert self._http is not None, "start() the double first"
        raw = json.dumps(payload, ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Viber-Content-Signature": signature
            if signature is not None
            else sign(self.token, raw),
        }
        async with self._http.post(url, data=raw, headers=headers) as response:
            text = await response.text()
            try:
                answer = json.loads(text) if text else None
            except ValueError:
                answer = text
            return response.status, answer

    async def callback(
        self, payload: dict[str, Any], *, signature: str | None = None
    ) -> tuple[int, Any]:
        """POST one callback to the registered webhook; returns (HTTP status, JSON answer)."""
        assert self.webhook_url, "the bot has not registered its webhook"
        return await self._post(self.webhook_url, payload, signature=signature)

    def new_token(self) -> int:
        return next(self._tokens)

    def person(self, user_id: str, *, language: str = "uk", name: str = "Test") -> ViberPerson:
        return ViberPerson(self, user_id, language, name)

    # -- reading ---------------------------------------------------------------------------
    def sent_to(self, user_id: str) -> list[Sent]:
        return [s for s in self.sent if s.receiver == user_id]


@dataclass
class ViberPerson:
    """One person in the Viber app, talking to the bot through the double."""

    viber: ViberDouble
    user_id: str
    language: str = "uk"
    name: str = "Test"
    welcome: dict[str, Any] | None = None
    #: messages received by the last action
    last: list[Sent] = field(default_factory=list)
    last_status: int = 0
    _seen: int = 0

    def _user(self) -> dict[str, Any]:
        return {
            "id": self.user_id,
            "name": self.name,
            "avatar": "",
            "country": "UA",
            "language": self.language,
            "api_version": 10,
        }

    def _collect(self, status: int) -> list[Sent]:
        self.last_status = status
        mine = self.viber.sent_to(self.user_id)
        self.last = mine[self._seen :]
        self._seen = len(mine)
        return self.last

    # -- doing -------------------------------------------------------------------------------
    async def opens(self) -> dict[str, Any]:
        """conversation_started: the welcome comes back in the HTTP response body."""
        status, answer = await self.viber.callback(
            {
                "event": "conversation_started",
                "timestamp": 1764000000000,
                "message_token": self.viber.new_token(),
                "type": "open",
                "user": self._user(),
                "subscribed": self.user_id in self.viber.subscribed,
            }
        )
        assert status == 200, status
        assert isinstance(answer, dict), answer
        problem = message_problem(answer)
        if problem:
            raise ViberRejected(f"welcome refused: {problem}")
        if "receiver" in answer:
            raise ViberRejected("the welcome message carries no receiver")
        self.welcome = answer
        # The welcome's keyboard is what the person now sees.
        self.viber.keyboards[self.user_id] = answer.get("keyboard")
        return answer

    async def subscribes(self) -> int:
        self.viber.subscribed.add(self.user_id)
        status, _ = await self.viber.callback(
            {
                "event": "subscribed",
                "timestamp": 1764000000000,
                "user": self._user(),
                "message_token": self.viber.new_token(),
            }
        )
        return status

    async def unsubscribes(self, *, message_token: int | None = None) -> int:
        self.viber.subscribed.discard(self.user_id)
        status, _ = await self.viber.callback(
            {
                "event": "unsubscribed",
                "timestamp": 1764000000000,
                "user_id": self.user_id,
                "message_token": message_token or self.viber.new_token(),
            }
        )
        return status

    async def sends(
        self, message: dict[str, Any], *, message_token: int | None = None
    ) -> list[Sent]:
        # Writing to a bot subscribes you (without a `subscribed` callback).
        self.viber.subscribed.add(self.user_id)
        status, _ = await self.viber.callback(
            {
                "event": "message",
                "timestamp": 1764000000000,
                "message_token": message_token or self.viber.new_token(),
                "sender": self._user(),
                "message": message,
            }
        )
        return self._collect(status)

    async def says(self, text: str, *, message_token: int | None = None) -> list[Sent]:
        return await self.sends({"type": "text", "text": text}, message_token=message_token)

    def _button(self, label: str, action: str = "reply") -> dict[str, Any]:
        keyboard = self.viber.keyboards.get(self.user_id)
        buttons = (keyboard or {}).get("Buttons", [])
        wanted = label.casefold()
        for button in buttons:
            text = html.unescape(str(button.get("Text", "")))
            if button.get("ActionType", "reply") == action and wanted in text.casefold():
                return dict(button)
        shown = [html.unescape(str(b.get("Text", ""))) for b in buttons]
        raise ViberRejected(f"no {action} button {label!r} on the keyboard; shown: {shown}")

    async def presses(self, label: str) -> list[Sent]:
        """A reply button sends its ActionBody as a text message."""
        return await self.says(self._button(label)["ActionBody"])

    async def shares_phone(self, phone: str = "+380501234567") -> list[Sent]:
        self._button("", action="share-phone")
        return await self.sends(
            {"type": "contact", "contact": {"name": self.name, "phone_number": phone}}
        )

    async def shares_location(self, lat: float, lon: float) -> list[Sent]:
        self._button("", action="location-picker")
        return await self.sends({"type": "location", "location": {"lat": lat, "lon": lon}})

    # -- reading ---------------------------------------------------------------------------
    @property
    def text(self) -> str:
        return "\n\n".join(s.text for s in self.last)

    @property
    def buttons(self) -> list[str]:
        keyboard = self.viber.keyboards.get(self.user_id) or {}
        return [html.unescape(str(b.get("Text", ""))) for b in keyboard.get("Buttons", [])]
