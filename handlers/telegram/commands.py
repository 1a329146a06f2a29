"""The command list Telegram shows in the menu button, in both languages."""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiogram import Bot
from aiogram.types import BotCommand

from bot.i18n import LANGUAGES
from handlers.telegram.messenger import error_code

log = logging.getLogger(__name__)

#: (command, description) in a language: `Engine.command_menu`
CommandMenu = Callable[[str], list[tuple[str, str]]]


def commands_in(menu: CommandMenu, language: str) -> list[BotCommand]:
    return [BotCommand(command=name, description=text) for name, text in menu(language)]


async def register_commands(bot: Bot, menu: CommandMenu, default_language: str) -> bool:
    """setMyCommands for uk, en and everyone else; a failure is logged, never fatal.

    The commands only decorate the menu button: every one of them also works typed.
    """
    wanted: list[tuple[str | None, str]] = [(code, code) for code in LANGUAGES]
    wanted.append((None, default_language))  # people whose app speaks another language
    ok = True
    for language_code, language in wanted:
        try:
            await bot.set_my_commands(commands_in(menu, language), language_code=language_code)
        except Exception as exc:
            ok = False
            log.warning(
                "setMyCommands (%s) failed: %s", language_code or "default", error_code(exc)
            )
    return ok
