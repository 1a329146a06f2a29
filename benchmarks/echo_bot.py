"""The yardstick for (1): a bare aiogram bot, no database, no dialogs.

One message handler answers with sendMessage, one callback handler answers
the query and sends a message; both offer two inline buttons, so the
simulated people walk it exactly as they walk Poruch. Polling runs with the
same options as our adapter (updates as tasks, the same concurrency limit).

    TELEGRAM_TOKEN=… TELEGRAM_API_BASE=http://127.0.0.1:… python -m benchmarks.echo_bot
"""

from __future__ import annotations

import asyncio
import os

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from handlers.telegram.adapter import MAX_CONCURRENT_UPDATES, POLLING_TIMEOUT

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
        await query.bot.send_message(  # type: ignore[union-attr]
            query.message.chat.id, f"You pressed: {query.data}", reply_markup=KEYBOARD
        )


async def main() -> None:
    session = AiohttpSession(api=TelegramAPIServer.from_base(os.environ["TELEGRAM_API_BASE"]))
    bot = Bot(token=os.environ["TELEGRAM_TOKEN"], session=session)
    dispatcher = Dispatcher()
    dispatcher.message.register(on_message)
    dispatcher.callback_query.register(on_callback)
    await dispatcher.start_polling(
        bot,
        polling_timeout=POLLING_TIMEOUT,
        handle_as_tasks=True,
        tasks_concurrency_limit=MAX_CONCURRENT_UPDATES,
        handle_signals=True,
    )


if __name__ == "__main__":
    asyncio.run(main())
