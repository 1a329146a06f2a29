"""The Telegram adapter (aiogram 3): polling by default, or a webhook on the bot's server."""

from __future__ import annotations

import re

from aiogram import Bot, methods
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.methods.base import Response
from aiogram.utils.token import TokenValidationError
from aiohttp import web

from bot.cli import CommandError
from bot.ports import Job
from bot.services.reachability import StoredReachability
from bot.settings import Settings
from bot.wiring import App
from handlers.telegram.adapter import TelegramAdapter
from handlers.telegram.messenger import TelegramMessenger
from handlers.telegram.webhook import PATH, WebhookEndpoint

SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")  # what setWebhook accepts
TELEGRAM_ADAPTER = web.AppKey("telegram_adapter", TelegramAdapter)

__all__ = ["TELEGRAM_ADAPTER", "TelegramAdapter", "TelegramMessenger", "make_bot", "telegram"]


# aiogram validates every Bot API answer with `Response[<result type>]`, a pydantic
# generic that pydantic caches only weakly: once collected it is rebuilt (several
# ms of CPU) on a later call. Holding the ones this bot uses keeps them built.
_RESPONSE_MODELS: list[type] = []


def pin_response_models() -> None:
    if _RESPONSE_MODELS:
        return
    for method in (
        methods.GetUpdates,
        methods.SendMessage,
        methods.EditMessageText,
        methods.EditMessageReplyMarkup,
        methods.AnswerCallbackQuery,
        methods.SetMyCommands,
        methods.DeleteWebhook,
        methods.SetWebhook,
        methods.GetMe,
    ):
        _RESPONSE_MODELS.append(Response[method.__returning__])  # type: ignore[name-defined]


def make_bot(settings: Settings) -> Bot:
    assert settings.telegram_token is not None
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_base))
    try:
        return Bot(token=settings.telegram_token.get_secret_value(), session=session)
    except TokenValidationError:
        raise CommandError(
            "TELEGRAM_TOKEN is not a bot token (it looks like 123456:ABC…)"
        ) from None


async def telegram(app: App, web_app: web.Application) -> Job:
    """The server hook (`bot.server.configured_adapters`): wire, register, return the job."""
    settings = app.settings
    pin_response_models()
    bot = make_bot(settings)
    messenger = TelegramMessenger(bot, app.metrics)
    adapter = TelegramAdapter(app, bot, messenger, StoredReachability(app.db))
    app.messengers.add(messenger)
    web_app[TELEGRAM_ADAPTER] = adapter
    if settings.telegram_mode != "webhook":
        return adapter.run_polling
    assert settings.telegram_webhook_secret is not None and settings.public_base_url
    secret = settings.telegram_webhook_secret.get_secret_value()
    if not SECRET_TOKEN.fullmatch(secret):
        # Telegram would refuse it at every setWebhook; better to say so once, at start.
        raise CommandError(
            "TELEGRAM_WEBHOOK_SECRET may hold only A-Z, a-z, 0-9, _ and - (1-256 characters)"
        )
    WebhookEndpoint(adapter, secret).register(web_app)
    url = f"{settings.public_base_url}{PATH}"

    async def run_webhook() -> None:
        await adapter.run_webhook(url, secret)

    return run_webhook
