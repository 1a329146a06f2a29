"""A strict Viber REST API double on 127.0.0.1, plus the Viber app side of a person.

It plays both halves of Viber for a test:

* the REST API the bot calls (`/pa/set_webhook`, `send_message`, `broadcast_message`,
  `get_account_info`), validating like Viber does — auth token, subscription
  (status 6), keyboard and button fields (ranges, enums, unknown fields: status 3),
  API levels (fields newer than the declared `min_api_version`: status 14; a
  `min_api_version` above the receiver's client: status 13, per receiver in a
  broadcast's `failed_list`), text length, sender name, 300 receivers, 30 KB
  bodies — and recording what it accepted;
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
import re
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
#: the api_version of a receiver the double was not told about: a current client
CURRENT_API_VERSION = 10

#: The double's own copy of the API levels in Viber's keyboard parameter tables
#: (developers.viber.com/docs/tools/keyboards, "optional (api level N)"), kept apart
#: from the bot's on purpose: a mistake in one shows up against the other. Silent:
#: level 4, as the real platform answered (issue #18).
KEYBOARD_LEVELS = {
    "CustomDefaultHeight": 3,
    "HeightScale": 3,
    "ButtonsGroupColumns": 4,
    "ButtonsGroupRows": 4,
    "InputFieldState": 4,
    "FavoritesMetadata": 6,
}
BUTTON_LEVELS = {
    "Silent": 4,
    "TextPaddings": 4,
    "InternalBrowser": 3,
    "BgMediaScaleType": 6,
    "ImageScaleType": 6,
    "TextShouldFit": 6,
    "Map": 6,
    "Frame": 6,
    "MediaPlayer": 6,
}
ACTION_LEVELS = {"location-picker": 3, "share-phone": 3}
MESSAGE_LEVELS = {"rich_media": 7}

KEYBOARD_FIELDS = {"Type", "Buttons", "BgColor", "DefaultHeight", *KEYBOARD_LEVELS}
BUTTON_FIELDS = {
    "Columns",
    "Rows",
    "BgColor",
    "BgMediaType",
    "BgMedia",
    "BgLoop",
    "ActionType",
    "ActionBody",
    "Image",
    "Text",
    "TextVAlign",
    "TextHAlign",
    "TextOpacity",
    "TextSize",
    "OpenURLType",
    "OpenURLMediaType",
    "TextBgGradientColor",
    *BUTTON_LEVELS,
}
BUTTON_ENUMS = {
    "TextSize": ("small", "regular", "large"),
    "TextVAlign": ("top", "middle", "bottom"),
    "TextHAlign": ("left", "center", "right"),
    "OpenURLType": ("internal", "external"),
    "BgMediaType": ("picture", "gif"),
}
HEX_COLOR = re.compile(r"#[0-9A-Fa-f]{6}")

#: (Viber status, status_message) of a refused message
Problem = tuple[int, str]


class ViberRejected(AssertionError):
    pass


def sign(token: str, body: bytes) -> str:
    return hmac.new(token.encode(), body, hashlib.sha256).hexdigest()


def bad(message: str) -> Problem:
    return (3, f"badData: {message}")


def _button_problem(index: int, button: Any) -> Problem | None:
    if not isinstance(button, dict):
        return bad(f"button {index} is not an object")
    unknown = set(button) - BUTTON_FIELDS
    if unknown:
        return bad(f"button {index}: unknown fields {sorted(unknown)}")
    columns, rows = button.get("Columns", 6), button.get("Rows", 1)
    if isinstance(columns, bool) or not isinstance(columns, int) or not 1 <= columns <= 6:
        return bad(f"button {index}: Columns must be 1..6")
    if isinstance(rows, bool) or not isinstance(rows, int) or not 1 <= rows <= 2:
        return bad(f"button {index}: Rows must be 1..2")
    action = button.get("ActionType", "reply")
    if action not in ACTION_TYPES:
        return bad(f"button {index}: unknown ActionType {action!r}")
    body = button.get("ActionBody")
    if not isinstance(body, str) or not body:
        return bad(f"button {index}: ActionBody is required")
    text = button.get("Text", "")
    if not isinstance(text, str) or len(text) > 250:
        return bad(f"button {index}: Text must be a string of at most 250 characters")
    for name, allowed in BUTTON_ENUMS.items():
        if name in button and button[name] not in allowed:
            return bad(f"button {index}: {name} must be one of {allowed}")
    for name in ("Silent", "BgLoop", "TextShouldFit"):
        if name in button and not isinstance(button[name], bool):
            return bad(f"button {index}: {name} must be true or false")
    if "BgColor" in button and not HEX_COLOR.fullmatch(str(button["BgColor"])):
        return bad(f"button {index}: BgColor must be #RRGGBB")
    opacity = button.get("TextOpacity", 100)
    if isinstance(opacity, bool) or not isinstance(opacity, int) or not 0 <= opacity <= 100:
        return bad(f"button {index}: TextOpacity must be 0..100")
    return None


def keyboard_problem(keyboard: Any, min_api_version: int) -> Problem | None:
    """What Viber would refuse in a keyboard, or None."""
    if not isinstance(keyboard, dict) or keyboard.get("Type") != "keyboard":
        return bad("keyboard.Type must be 'keyboard'")
    unknown = set(keyboard) - KEYBOARD_FIELDS
    if unknown:
        return bad(f"keyboard: unknown fields {sorted(unknown)}")
    buttons = keyboard.get("Buttons")
    if not isinstance(buttons, list) or not buttons:
        return bad("keyboard.Buttons must be a non-empty list")
    if len(buttons) > MAX_BUTTONS:
        return bad(f"keyboard has {len(buttons)} buttons, at most {MAX_BUTTONS}")
    if "InputFieldState" in keyboard and keyboard["InputFieldState"] not in (
        "regular",
        "minimized",
        "hidden",
    ):
        return bad("keyboard.InputFieldState must be regular, minimized or hidden")
    if "DefaultHeight" in keyboard and not isinstance(keyboard["DefaultHeight"], bool):
        return bad("keyboard.DefaultHeight must be true or false")
    if "BgColor" in keyboard and not HEX_COLOR.fullmatch(str(keyboard["BgColor"])):
        return bad("keyboard.BgColor must be #RRGGBB")
    for index, button in enumerate(buttons):
        problem = _button_problem(index, button)
        if problem:
            return problem
    needed = needed_api_version({"keyboard": keyboard})
    if needed > min_api_version:
        return (
            14,
            "incompatibleWithVersion: minApiVersion is not compatible to the message "
            f"fields (they need {needed}, the message declares {min_api_version})",
        )
    return None


def needed_api_version(body: dict[str, Any]) -> int:
    """The API level the fields of a message need (the double's own reckoning)."""
    level = MESSAGE_LEVELS.get(str(body.get("type")), 1)
    keyboard = body.get("keyboard")
    if isinstance(keyboard, dict):
        level = max([level, *(KEYBOARD_LEVELS.get(k, 1) for k in keyboard)])
        for button in keyboard.get("Buttons") or []:
            if isinstance(button, dict):
                level = max(
                    [
                        level,
                        ACTION_LEVELS.get(str(button.get("ActionType")), 1),
                        *(BUTTON_LEVELS.get(k, 1) for k in button),
                    ]
                )
    return level


def declared_api_version(body: dict[str, Any]) -> int | None:
    value = body.get("min_api_version", 1)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return None
    return int(value)


def message_problem(body: dict[str, Any]) -> Problem | None:
    """What Viber would refuse in a message body (send_message or the welcome)."""
    sender = body.get("sender")
    if not isinstance(sender, dict) or not sender.get("name"):
        return bad("sender.name is required")
    if len(sender["name"]) > SENDER_NAME_LIMIT:
        return bad(f"sender.name longer than {SENDER_NAME_LIMIT}")
    kind = body.get("type")
    if kind != "text":
        return bad(f"this double only speaks text, not {kind!r}")
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        return bad("text is required")
    if len(text) > TEXT_LIMIT:
        return bad(f"text has {len(text)} characters, at most {TEXT_LIMIT}")
    declared = declared_api_version(body)
    if declared is None:
        return bad("min_api_version must be a whole number from 1")
    if "keyboard" in body:
        return keyboard_problem(body["keyboard"], declared)
    if needed_api_version(body) > declared:
        return (14, "incompatibleWithVersion")
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
    #: each person's client API level (unknown receivers: CURRENT_API_VERSION)
    api_versions: dict[str, int] = field(default_factory=dict)
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
            return self._status(*problem)
        if receiver not in self.subscribed:
            return self._status(6, "receiverNotSubscribed")
        if self._too_new(receiver, body):
            return self._status(13, "apiVersionNotSupported")
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
            return self._status(*problem)
        if self._take_too_many():
            return self._status(12, "Too many requests")
        token = next(self._tokens)
        failed = []
        for receiver in receivers:
            if receiver not in self.subscribed:
                failed.append(
                    {"receiver": receiver, "status": 6, "status_message": "Not subscribed"}
                )
            elif self._too_new(receiver, body):
                failed.append(
                    {
                        "receiver": receiver,
                        "status": 13,
                        "status_message": "apiVersionNotSupported",
                    }
                )
            else:
                self._accept(receiver, body, token)
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

    def level_of(self, receiver: str) -> int:
        return self.api_versions.get(receiver, CURRENT_API_VERSION)

    def _too_new(self, receiver: str, body: dict[str, Any]) -> bool:
        """Viber does not deliver what the receiver's client cannot show (status 13)."""
        return (declared_api_version(body) or 1) > self.level_of(receiver)

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

    def person(
        self,
        user_id: str,
        *,
        language: str = "uk",
        name: str = "Test",
        api_version: int = CURRENT_API_VERSION,
    ) -> ViberPerson:
        """A person whose Viber client is at `api_version` (3: Viber 7.6; 10: current)."""
        self.api_versions[user_id] = api_version
        return ViberPerson(self, user_id, language, name, api_version=api_version)

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
    api_version: int = CURRENT_API_VERSION
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
            "api_version": self.api_version,
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
        if (declared_api_version(answer) or 1) > self.api_version:
            raise ViberRejected(f"welcome refused: 13 apiVersionNotSupported ({self.api_version})")
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
