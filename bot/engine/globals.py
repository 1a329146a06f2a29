"""Commands and buttons that work from any step."""

from __future__ import annotations

from enum import StrEnum


class Global(StrEnum):
    START = "g:start"
    MENU = "g:menu"
    LANGUAGE = "g:lang"
    HELP = "g:help"
    CANCEL = "g:cancel"
    BACK = "g:back"
    RESUME = "g:resume"


COMMANDS = {
    "/start": Global.START,
    "/menu": Global.MENU,
    "/language": Global.LANGUAGE,
    "/help": Global.HELP,
    "/cancel": Global.CANCEL,
}

# Words a person may type instead of pressing the button, in either language.
TYPED = {
    "меню": Global.MENU,
    "menu": Global.MENU,
    "головне меню": Global.MENU,
    "main menu": Global.MENU,
    "мова": Global.LANGUAGE,
    "language": Global.LANGUAGE,
    "допомога": Global.HELP,
    "help": Global.HELP,
    "скасувати": Global.CANCEL,
    "cancel": Global.CANCEL,
    "назад": Global.BACK,
    "back": Global.BACK,
}


def command_of(text: str) -> Global | None:
    word = text.strip().split(maxsplit=1)[0].split("@", 1)[0].lower() if text.strip() else ""
    return COMMANDS.get(word)


def typed_global(text: str) -> Global | None:
    return TYPED.get(" ".join(text.lower().split()).strip(" .!"))


def as_global(payload: str) -> Global | None:
    try:
        return Global(payload)
    except ValueError:
        return None
