"""No dead ends: every screen a person can reach offers a way back and a way to the menu.

Built on the dialog walk (tests/dialog_walk.py): every step of every dialog, in both
languages, as a citizen and as staff. Each screen is rendered the way the terminal chat
and Telegram show it, and Back and Menu must be pressable there: `b` and `m` in the
terminal (as its banner promises), a button in Telegram (inline, or on the reply
keyboard as a label the engine understands).
"""

from __future__ import annotations

import io

import pytest
from aiogram.types import InlineKeyboardMarkup, ReplyKeyboardMarkup

from bot.app import App
from bot.engine import Global
from handlers.telegram.render import plan
from handlers.terminal import parse, render
from tests.dialog_walk import Screen, walk_once

BACK, MENU = Global.BACK.value, Global.MENU.value


def exempt(screen: Screen) -> bool:
    """The main menu is where Menu leads; first contact must pass language and privacy;
    after "Delete my data" there is nobody to lead anywhere ("Start again" is offered)."""
    return screen.dialog in ("", "menu") or any("/start" in step for step in screen.path[:1])


def terminal_keys(screen: Screen) -> dict[str, str]:
    keys = render(list(screen.replies), io.StringIO())
    return {key: parse(key, keys, "walker").payload or "" for key in ("b", "m")}


def telegram_payloads(screen: Screen) -> set[str]:
    """What pressing each button of the rendered messages sends to the engine."""
    labels = {b.label: b.payload for r in screen.replies for row in r.buttons for b in row}
    pressed: set[str] = set()
    for message in plan(list(screen.replies), keyboard_shown=False).messages:
        markup = message.markup
        if isinstance(markup, InlineKeyboardMarkup):
            for inline_row in markup.inline_keyboard:
                pressed.update(b.callback_data or "" for b in inline_row)
        elif isinstance(markup, ReplyKeyboardMarkup):
            for reply_row in markup.keyboard:
                pressed.update(labels.get(b.text, "") for b in reply_row)
    return pressed


def where(screen: Screen) -> str:
    return f"{screen.dialog}/{screen.step}"


@pytest.mark.parametrize("staff", [False, True], ids=["citizen", "staff"])
@pytest.mark.parametrize("locale", ["uk", "en"])
async def test_every_screen_has_back_and_menu(sqlite_app: App, locale: str, staff: bool) -> None:
    screens = await walk_once(sqlite_app, locale=locale, staff=staff)
    stuck_terminal, stuck_telegram = set(), set()
    for screen in screens:
        if exempt(screen):
            continue
        if terminal_keys(screen) != {"b": BACK, "m": MENU}:
            stuck_terminal.add(where(screen))
        if not {BACK, MENU} <= telegram_payloads(screen):
            stuck_telegram.add(where(screen))
    assert not stuck_terminal, "no b/m in the terminal: " + ", ".join(sorted(stuck_terminal))
    assert not stuck_telegram, "no Back/Menu on Telegram: " + ", ".join(sorted(stuck_telegram))
