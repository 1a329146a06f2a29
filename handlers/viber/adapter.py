"""Viber callbacks on `POST /viber/webhook`: checked, turned into engine events, answered.

Every callback is signed by Viber (hex HMAC-SHA256 of the raw body keyed with the
bot token, header X-Viber-Content-Signature); anything else gets 403 before a
byte of it is read as JSON. Then:

* `webhook` (Viber checking the URL after set_webhook): 200.
* `conversation_started`: the engine's welcome (`Engine.welcome`) with the language
  keyboard, returned as the HTTP response body — the only message Viber lets a bot
  send before a person subscribes. Nothing is stored: opening a chat is not consent.
* `subscribed` / `unsubscribed`: `Engine.note_subscription`; an unsubscribed person
  is never written to until they write again.
* `message`: text, a pressed button (its ActionBody arrives as text, so the engine
  tells the two apart: `Engine.read_text`), a shared phone or location → `Incoming`
  → the engine → replies sent with send_message.
* `delivered` / `seen` / `failed`: kept by message token through the `Receipts` port.

The adapter reads and writes nothing itself and says nothing of its own: what is
stored goes through the engine or a port (bot/ports.py), what a person reads comes
from the engine. Viber re-delivers a callback until it gets 200; each is handled
once (the engine claims `event_id = message_token`).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from dataclasses import replace
from typing import Any

from aiohttp import web
from viberbot.api.messages import ContactMessage, LocationMessage, TextMessage
from viberbot.api.viber_requests import create_request

from bot.engine import Incoming, Kind, Reply
from bot.engine.locks import KeyedLocks
from bot.ports import Job, Receipts
from bot.services.reachability import StoredReachability
from bot.services.receipts import StoredReceipts
from bot.wiring import App
from handlers import json_body
from handlers.viber import inputs, receipts
from handlers.viber.client import ViberClient, ViberUnavailable
from handlers.viber.messenger import PLATFORM, ViberMessenger
from handlers.viber.render import welcome

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/viber/webhook"
SIGNATURE_HEADER = "X-Viber-Content-Signature"
EVENT_TYPES = (
    "delivered",
    "seen",
    "failed",
    "subscribed",
    "unsubscribed",
    "conversation_started",
)


def api_version_of(user: Any) -> int | None:
    """The API level of a person's Viber client, as a callback's user/sender reports it."""
    level = user.get("api_version") if isinstance(user, dict) else None
    if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 1000:
        return None
    return level


def signature(token: bytes, body: bytes) -> str:
    return hmac.new(token, body, hashlib.sha256).hexdigest()


def signature_ok(token: bytes, body: bytes, given: str | None) -> bool:
    if not given:
        return False
    # Bytes on both sides: compare_digest refuses non-ASCII str, and a forger may send any.
    return hmac.compare_digest(given.strip().lower().encode(), signature(token, body).encode())


class ViberAdapter:
    def __init__(
        self, app: App, client: ViberClient, messenger: ViberMessenger, receipts: Receipts
    ) -> None:
        assert app.settings.viber_token is not None
        self.app = app
        self.engine = app.engine
        self.client = client
        self.messenger = messenger
        self.receipts = receipts
        self._token = app.settings.viber_token.get_secret_value().encode()
        self.sender_name = app.settings.viber_bot_name
        # Replies to one person go out in the order their messages came in.
        self.locks = KeyedLocks()

    # -- start ----------------------------------------------------------------------
    #: waits between set_webhook attempts: at start the public address (a proxy, DNS)
    #: is often not reachable yet, and Viber answers "invalidUrl" until it is
    retry_delays: tuple[float, ...] = (5, 15, 60, 300)

    async def register_webhook(self) -> None:
        """set_webhook once the server listens (Viber calls the URL back before answering)."""
        base = self.app.settings.public_base_url
        if not base:
            log.warning("Viber: PUBLIC_BASE_URL is not set, the webhook is not registered")
            return
        for delay in (*self.retry_delays, None):
            try:
                response = await self.client.set_webhook(base + WEBHOOK_PATH, EVENT_TYPES)
            except ViberUnavailable as exc:
                log.error("Viber set_webhook failed: %s", exc)
            else:
                if response.ok:
                    log.info("Viber webhook registered at %s%s", base, WEBHOOK_PATH)
                    return
                log.error(
                    "Viber set_webhook failed: status %s (%s)",
                    response.status,
                    response.status_message,
                )
            if delay is None:
                log.error("Viber webhook not registered; it is tried again at the next start")
                return
            await asyncio.sleep(delay)

    # -- the route --------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        given = request.headers.get(SIGNATURE_HEADER) or request.query.get("sig")
        if not signature_ok(self._token, body, given):
            log.warning("Viber callback refused: bad signature")
            return web.Response(status=403)
        try:
            data = json_body.parse(body)
        except json_body.BadBody as exc:
            log.warning("Viber callback refused: %s", exc)
            return web.Response(status=400)
        if not isinstance(data, dict):
            return web.Response(status=400)
        event = data.get("event")
        try:
            if event == "webhook":
                return web.json_response({})
            if event == "conversation_started":
                return await self.on_conversation_started(data)
            if event == "message":
                await self.on_message(data)
            elif event == "subscribed":
                await self.on_subscription(data, subscribed=True)
            elif event == "unsubscribed":
                await self.on_subscription(data, subscribed=False)
            elif event in receipts.EVENTS:
                await self.on_receipt(data)
            else:  # client_status and whatever comes next: acknowledged, not retried
                log.info("Viber callback %r ignored", str(event)[:32])
        except (KeyError, TypeError, ValueError) as exc:
            # Malformed (but signed) data: say so once; a retry would not fix it.
            log.warning("Viber %s callback malformed: %s", str(event)[:32], type(exc).__name__)
            return web.Response(status=400)
        return web.json_response({})

    # -- events ------------------------------------------------------------------------
    async def on_conversation_started(self, data: dict[str, Any]) -> web.Response:
        parsed = create_request(data)
        user_id = inputs.user_id(parsed.user.id)
        replies = await self.engine.welcome(PLATFORM, user_id, parsed.user.language)
        level = api_version_of(data.get("user"))
        return web.json_response(welcome(replies, self.sender_name, api_version=level))

    async def on_message(self, data: dict[str, Any]) -> None:
        sender = data["sender"]
        user_id = inputs.user_id(sender["id"])
        async with self.locks.hold(user_id):
            replies: list[Reply] = []
            for event in await self.incoming(data, user_id, sender.get("language")):
                replies = await self.engine.handle(event)
            if replies:
                level = api_version_of(sender)
                await self.messenger.send_replies(user_id, replies, api_version=level)

    async def incoming(
        self, data: dict[str, Any], user_id: str, language: str | None
    ) -> list[Incoming]:
        """The engine event(s) for one Viber message."""
        token = inputs.message_token(data["message_token"])
        base = Incoming(
            PLATFORM, user_id, Kind.UNSUPPORTED, language_code=language, event_id=token
        )
        try:
            message = create_request(data).message
        except Exception:  # a message type viberbot does not know (files, new kinds)
            return [base]
        if isinstance(message, ContactMessage):
            phone = message.contact.phone_number if message.contact else None
            return [_with(base, kind=Kind.CONTACT, phone=str(phone))] if phone else [base]
        if isinstance(message, LocationMessage):
            where = message.location
            if where is None or where.latitude is None or where.longitude is None:
                return [base]
            return [
                _with(
                    base,
                    kind=Kind.LOCATION,
                    latitude=float(where.latitude),
                    longitude=float(where.longitude),
                )
            ]
        if not isinstance(message, TextMessage) or not message.text:
            return [base]
        # Buttons arrive as text here: the engine knows which ones were offered.
        typed = _with(base, kind=Kind.TEXT, text=str(message.text))
        return await self.engine.read_text(typed, api_version=api_version_of(data.get("sender")))

    async def on_subscription(self, data: dict[str, Any], *, subscribed: bool) -> None:
        parsed = create_request(data)
        user_id = inputs.user_id(parsed.user.id if subscribed else parsed.user_id)
        token = inputs.message_token(data["message_token"])
        await self.engine.note_subscription(
            PLATFORM,
            user_id,
            subscribed=subscribed,
            event_id=token,
            api_version=api_version_of(data.get("user")) if subscribed else None,
        )

    async def on_receipt(self, data: dict[str, Any]) -> None:
        parsed = create_request(data)
        reason = str(getattr(parsed, "desc", "") or "") if data["event"] == "failed" else ""
        user_id = inputs.user_id(parsed.user_id)
        token = inputs.message_token(data["message_token"])
        await self.receipts.record(
            message_token=token,
            event=str(data["event"]),
            user_id=user_id,
            at=receipts.callback_time(data.get("timestamp"), self.engine.runtime.now()),
            reason=reason,
        )


def _with(event: Incoming, **changes: Any) -> Incoming:
    return replace(event, **changes)


ADAPTER_KEY = web.AppKey("viber_adapter", ViberAdapter)


async def viber_adapter(app: App, web_app: web.Application) -> Job | None:
    """Plug Viber into the bot's HTTP server (see `bot.server.configured_adapters`)."""
    settings = app.settings
    assert settings.viber_token is not None
    client = ViberClient(settings.viber_token.get_secret_value(), settings.viber_api_base)
    messenger = ViberMessenger(
        client,
        StoredReachability(app.db),
        sender_name=settings.viber_bot_name,
        metrics=app.metrics,
    )
    adapter = ViberAdapter(app, client, messenger, StoredReceipts(app.db, settings))
    web_app[ADAPTER_KEY] = adapter
    web_app.router.add_post(WEBHOOK_PATH, adapter.handle)

    async def close_client(_: web.Application) -> None:
        await client.close()

    web_app.on_cleanup.append(close_client)
    app.messengers.add(messenger)
    return adapter.register_webhook
