"""The yardstick: the bare aiogram bot a user would write — no database, no dialogs.

One message handler answers with sendMessage, one callback handler answers the
query and sends a message; both offer two inline buttons, so the simulated
people walk it exactly as they walk Poruch. Nothing of Poruch's is imported and
none of its tuning is applied (no pinned `Response[...]` models, no GC freezing,
no concurrency limit): aiogram's defaults, as in its own examples.

    TELEGRAM_TOKEN=… TELEGRAM_API_BASE=http://127.0.0.1:… python -m benchmarks.echo_bot
    … ECHO_WEBHOOK=http://127.0.0.1:PORT/webhook ECHO_SECRET=… python -m benchmarks.echo_bot
"""

from __future__ import annotations

import asyncio
import os
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

KEYBOARD = InlineKeyboardMarkup(
    inline_keyboard=[
        [
            InlineKeyboardButton(text="A", callback_data="a"),
            InlineKeyboardButton(text="B", callback_data="b"),
        ]
    ]
)


async def on_message(message: Message) -> None:
    await message.answer(f"You said: {message.text or '…'}", reply_markup=KEYBOARD)


async def on_callback(query: CallbackQuery) -> None:
    await query.answer()
    if query.message is not None:
        await query.message.answer(f"You pressed: {query.data}", reply_markup=KEYBOARD)


def make() -> tuple[Bot, Dispatcher]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(os.environ["TELEGRAM_API_BASE"]))
    bot = Bot(token=os.environ["TELEGRAM_TOKEN"], session=session)
    dispatcher = Dispatcher()
    dispatcher.message.register(on_message)
    dispatcher.callback_query.register(on_callback)
    return bot, dispatcher


def webhook(url: str, secret: str) -> None:
    """aiogram's webhook example: SimpleRequestHandler on aiohttp, setWebhook at start."""
    bot, dispatcher = make()

    async def on_startup(bot: Bot) -> None:
        await bot.set_webhook(url, secret_token=secret)

    dispatcher.startup.register(on_startup)
    app = web.Application()
    SimpleRequestHandler(dispatcher=dispatcher, bot=bot, secret_token=secret).register(
        app, path=urlsplit(url).path
    )
    setup_application(app, dispatcher, bot=bot)
    parts = urlsplit(url)
    web.run_app(app, host=parts.hostname, port=parts.port, print=None)


async def polling() -> None:
    bot, dispatcher = make()
    await dispatcher.start_polling(bot)


if __name__ == "__main__":
    if os.environ.get("ECHO_WEBHOOK"):
        webhook(os.environ["ECHO_WEBHOOK"], os.environ.get("ECHO_SECRET", ""))
    else:
        asyncio.run(polling())
