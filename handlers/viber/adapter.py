"""Viber callbacks on `POST /viber/webhook`: checked, turned into engine events, answered.

Every callback is signed by Viber (hex HMAC-SHA256 of the raw body keyed with the
bot token, header X-Viber-Content-Signature); anything else gets 403 before a
byte of it is read as JSON. Then:

* `webhook` (Viber checking the URL after set_webhook): 200.
* `conversation_started`: the welcome with the language keyboard, returned as the
  HTTP response body — the only message Viber lets a bot send before a person
  subscribes. Nothing is stored: opening a chat is not consent to anything.
* `subscribed` / `unsubscribed`: the stored person (if any) is marked so; an
  unsubscribed person is never written to until they write again.
* `message`: text, a pressed button (its ActionBody arrives as text), a shared
  phone or location → `Incoming` → the engine → replies sent with send_message.
* `delivered` / `seen` / `failed`: recorded by message token (`receipts.py`).

Viber re-delivers a callback until it gets 200; each is handled once (the engine
claims `event_id = message_token`).
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

from bot.engine import Context, Incoming, Kind, Reply
from bot.engine.globals import parse_open
from bot.engine.locks import KeyedLocks
from bot.i18n import N_, pick_language, translator
from bot.ports import Job
from bot.wiring import App
from handlers import json_body
from handlers.viber import inputs, receipts
from handlers.viber.client import ViberClient, ViberUnavailable
from handlers.viber.messenger import PLATFORM, ViberMessenger
from handlers.viber.render import welcome
from storage.models import Person, utcnow
from storage.repositories import DialogStates, People, ProcessedEvents, StoredState

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
LANGUAGE_DIALOG = "language"
GREETING = N_(
    "Hello! I help with social services: benefits you may get, the status of your "
    "application, booking an office visit."
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
    def __init__(self, app: App, client: ViberClient, messenger: ViberMessenger) -> None:
        assert app.settings.viber_token is not None
        self.app = app
        self.client = client
        self.messenger = messenger
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
        replies = await self.welcome_replies(inputs.user_id(parsed.user.id), parsed.user.language)
        level = api_version_of(data.get("user"))
        return web.json_response(welcome(replies, self.sender_name, api_version=level))

    async def welcome_replies(self, user_id: str, language_hint: str | None) -> list[Reply]:
        """The language screen, as the engine shows it at first contact, without storing anyone.

        The engine would register the person; before they subscribe we keep nothing,
        so the language dialog's first step is shown on a person that is never saved.
        """
        dialog = self.app.engine.dialogs.get(LANGUAGE_DIALOG)
        assert dialog is not None, "the language dialog is part of the core"
        language = pick_language(language_hint, self.app.settings.default_locale)
        person = Person(platform=PLATFORM, platform_user_id=user_id, locale=None)
        event = Incoming(PLATFORM, user_id, Kind.COMMAND, text="/start")
        async with self.app.db.sessions() as unused_session:  # the screen reads nothing
            ctx = Context(
                event=event,
                person=person,
                state=StoredState(dialog=LANGUAGE_DIALOG, step=dialog.first),
                runtime=self.app.runtime,
                dialogs=self.app.engine.dialogs,
                db=unused_session,
                is_staff=False,
            )
            ctx.tr = translator(language)
            ctx.say(ctx._(GREETING))
            step = dialog.get(dialog.first)
            assert step is not None
            await step.show(ctx)
        return ctx.replies

    async def on_message(self, data: dict[str, Any]) -> None:
        sender = data["sender"]
        user_id = inputs.user_id(sender["id"])
        async with self.locks.hold(user_id):
            replies: list[Reply] = []
            for event in await self.incoming(data, user_id, sender.get("language")):
                replies = await self.app.engine.handle(event)
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
        text = str(message.text)
        offered, stored, has_locale = await self._offered(
            user_id, api_version_of(data.get("sender"))
        )
        if text in offered or parse_open(text) is not None:
            # "o:" buttons come from messages the bot started (reminders, offers); the
            # engine opens only the steps a dialog allows, so typing one gains nothing.
            return [_with(base, kind=Kind.BUTTON, payload=text)]
        welcome_buttons = await self._welcome_buttons(user_id)
        if text in welcome_buttons:
            # A language button from the welcome (sent before anything was stored): open
            # the language screen first, so the press lands where it was made.
            command = "/language" if stored and has_locale else "/start"
            opening = _with(base, kind=Kind.COMMAND, text=command, event_id=f"{token}:welcome")
            return [opening, _with(base, kind=Kind.BUTTON, payload=welcome_buttons[text])]
        # Typed text, even one spelling a payload: only what was offered counts as a press.
        kind = Kind.COMMAND if text.startswith("/") else Kind.TEXT
        return [_with(base, kind=kind, text=text)]

    async def _offered(
        self, user_id: str, api_version: int | None = None
    ) -> tuple[dict[str, str], bool, bool]:
        async with self.app.db.transaction() as session:
            person = await People(session).find(PLATFORM, user_id)
            if person is None:
                return {}, False, False
            if api_version is not None and person.api_version != api_version:
                person.api_version = api_version  # for messages the bot starts later
            state = await DialogStates(session).load(person.id)
            return (state.offered if state else {}), True, person.locale is not None

    async def _welcome_buttons(self, user_id: str) -> dict[str, str]:
        """What the welcome's buttons send → their payload: the payload itself, or the
        label on clients without silent buttons (see render.py)."""
        replies = await self.welcome_replies(user_id, None)
        buttons = [button for reply in replies for row in reply.buttons for button in row]
        sent = {button.label: button.payload for button in buttons}
        return sent | {button.payload: button.payload for button in buttons}

    async def on_subscription(self, data: dict[str, Any], *, subscribed: bool) -> None:
        parsed = create_request(data)
        user_id = inputs.user_id(parsed.user.id if subscribed else parsed.user_id)
        token = inputs.message_token(data["message_token"])
        async with self.app.db.transaction() as session:
            if not await ProcessedEvents(session).claim(PLATFORM, token):
                return
            people = People(session)
            if not subscribed:
                await people.mark_unsubscribed(PLATFORM, user_id)
                return
            # Someone we never talked to is not stored on subscribing: the record starts
            # with their first message, where the language and privacy questions are.
            person = await people.find(PLATFORM, user_id)
            if person is not None:
                person.subscribed = True
                person.reachable = True
                person.api_version = api_version_of(data.get("user")) or person.api_version

    async def on_receipt(self, data: dict[str, Any]) -> None:
        parsed = create_request(data)
        reason = str(getattr(parsed, "desc", "") or "") if data["event"] == "failed" else ""
        user_id = inputs.user_id(parsed.user_id)
        token = inputs.message_token(data["message_token"])
        async with self.app.db.transaction() as session:
            await receipts.record(
                session,
                self.app.settings,
                message_token=token,
                event=str(data["event"]),
                user_id=user_id,
                at=receipts.callback_time(data.get("timestamp"), utcnow()),
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
        app.db,
        sender_name=settings.viber_bot_name,
        metrics=app.metrics,
    )
    adapter = ViberAdapter(app, client, messenger)
    web_app[ADAPTER_KEY] = adapter
    web_app.router.add_post(WEBHOOK_PATH, adapter.handle)

    async def close_client(_: web.Application) -> None:
        await client.close()

    web_app.on_cleanup.append(close_client)
    app.messengers.add(messenger)
    return adapter.register_webhook
