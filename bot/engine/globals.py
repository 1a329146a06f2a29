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
    CONSOLE = "g:console"  # staff only: a sign-in link to the web console


COMMANDS = {
    "/start": Global.START,
    "/menu": Global.MENU,
    "/language": Global.LANGUAGE,
    "/help": Global.HELP,
    "/cancel": Global.CANCEL,
    "/console": Global.CONSOLE,
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


# A button in a message the bot started itself (a reminder, an offer) was never
# among a person's offered buttons, so it cannot pass the stale-button check.
# Such buttons carry "o:<dialog>:<step>" and open that step directly, but only
# steps a dialog lists in `Dialog.entry_steps`: a forged one opens nothing more
# than the menu would.
OPEN_PREFIX = "o:"


def open_payload(dialog: str, step: str) -> str:
    return f"{OPEN_PREFIX}{dialog}:{step}"


# Someone who declined the privacy notice (or has not accepted it yet) may still read
# the few dialogs marked `Dialog(public=True)` — contacts, About — and nothing about
# them is stored for it. Their buttons carry "p:<dialog>:<language>": no person row
# holds the language, so the button does.
PUBLIC_PREFIX = "p:"


def public_payload(dialog: str, language: str) -> str:
    return f"{PUBLIC_PREFIX}{dialog}:{language}"


def parse_public(payload: str) -> tuple[str, str] | None:
    if not payload.startswith(PUBLIC_PREFIX):
        return None
    dialog, _, language = payload.removeprefix(PUBLIC_PREFIX).partition(":")
    return (dialog, language) if dialog and language else None


def parse_open(payload: str) -> tuple[str, str] | None:
    if not payload.startswith(OPEN_PREFIX):
        return None
    dialog, _, step = payload.removeprefix(OPEN_PREFIX).partition(":")
    return (dialog, step) if dialog and step else None
