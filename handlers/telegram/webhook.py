"""POST /telegram/webhook: Telegram pushes updates here in webhook mode."""

from __future__ import annotations

import hmac
import logging

from aiohttp import web

from handlers import json_body
from handlers.telegram.adapter import TelegramAdapter
from handlers.telegram.updates import parse_update

log = logging.getLogger(__name__)

PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class WebhookEndpoint:
    def __init__(self, adapter: TelegramAdapter, secret: str) -> None:
        self.adapter = adapter
        self._secret = secret.encode()

    def register(self, web_app: web.Application) -> None:
        web_app.router.add_post(PATH, self.handle)

    async def handle(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            return web.json_response({"ok": False, "error": "unauthorized"}, status=401)
        try:
            update = parse_update(json_body.parse(await request.read()))
        except ValueError:  # json_body.BadBody and updates.BadUpdate are ValueErrors
            # Telegram would resend a 5xx forever; a body that is not an update never gets better.
            log.warning("webhook: a body that is not a Telegram update was refused")
            return web.json_response({"ok": False, "error": "not an update"}, status=400)
        # Answered once the update's transaction has committed (its replies are stored
        # and sent on the chat's lane): a crash before that makes Telegram send it again,
        # and this person's next update, wherever it lands, sees this one's state.
        # Duplicates are caught by update_id. A pressed button's spinner is stopped by
        # this answer (a method Telegram executes), not by a request of its own.
        committed, method = await self.adapter.take_webhook_update(update)
        if not committed:
            return web.json_response({"ok": False, "error": "not handled"}, status=500)
        return web.json_response(method or {"ok": True})
