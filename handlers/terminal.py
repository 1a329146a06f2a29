"""The terminal chat (`python -m bot chat`): the embedded demo, no token needed.

Buttons are numbered; type a number or any text. `/quit` (or end of input) leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from dataclasses import replace
from typing import TextIO

from bot.engine import Engine, Global, Incoming, Kind, Reply, Request

WRAP = 72


# Navigation buttons get letters, so that a typed number is never taken for
# "Back" or "Menu" when the question wants a number (household size, age …).
NAV_KEYS = {
    Global.BACK.value: "b",
    Global.MENU.value: "m",
    Global.HELP.value: "h",
    Global.RESUME.value: "r",
    Global.LANGUAGE.value: "l",
    Global.CANCEL.value: "x",
    Global.START.value: "s",
}
Keys = dict[str, str]  # what to type → button payload
#: work even where no such button is shown (the main menu, first contact)
TYPED_NAV = {"b": Global.BACK.value, "m": Global.MENU.value}


def render(replies: list[Reply], out: TextIO) -> Keys:
    """Print replies; return the keys that press each button (numbers, letters for navigation)."""
    keys: Keys = {}
    numbered = 0
    for reply in replies:
        print(file=out)
        if reply.lead:
            print(reply.lead, end="\n\n", file=out)
        if reply.title:
            print(f"== {reply.title} ==", file=out)
        print(reply.text, file=out)
        for link in reply.links:
            print(f"  🔗 {link.label}: {link.url}", file=out)
        for row in reply.buttons:
            cells = []
            for button in row:
                key = NAV_KEYS.get(button.payload)
                if key is None and button.label.strip().isdigit():
                    key = button.label.strip()  # a number button is pressed by its number
                while key is None or key in keys:
                    numbered += 1
                    key = str(numbered)
                keys[key] = button.payload
                cells.append(f"[{key}] {button.label}")
            print("  " + "   ".join(cells), file=out)
        if reply.request is Request.PHONE:
            print("  (to share your phone type: phone +380…)", file=out)
        elif reply.request is Request.LOCATION:
            print("  (to share a location type: location 50.45 30.52)", file=out)
    return keys


def clean(line: str) -> str:
    """What was typed, as valid text: a letter cut in half (a terminal that stopped
    reading mid-character, bytes that are not UTF-8) is dropped, never passed on."""
    return line.encode("utf-8", "surrogateescape").decode("utf-8", "ignore")


def parse(line: str, keys: Keys, user_id: str) -> Incoming:
    text = clean(line).strip()
    base = Incoming(platform="terminal", user_id=user_id, kind=Kind.TEXT)
    if text.lower() in keys:
        return replace(base, kind=Kind.BUTTON, payload=keys[text.lower()])
    if text.lower() in TYPED_NAV:  # the banner promises b and m on every screen
        return replace(base, kind=Kind.BUTTON, payload=TYPED_NAV[text.lower()])
    lowered = text.lower()
    if lowered.startswith("phone "):
        return replace(base, kind=Kind.CONTACT, phone=text.split(maxsplit=1)[1])
    if lowered.startswith("location "):
        parts = text.split()
        try:
            lat, lon = float(parts[1]), float(parts[2])
        except (IndexError, ValueError):
            return replace(base, kind=Kind.TEXT, text=text)
        return replace(base, kind=Kind.LOCATION, latitude=lat, longitude=lon)
    kind = Kind.COMMAND if text.startswith("/") else Kind.TEXT
    return replace(base, kind=kind, text=text)


def read_interactive() -> str:
    """One line from the keyboard through GNU readline, which reads the terminal itself:
    the kernel's line discipline would cut a pasted line at 4095 bytes (about 2000
    Ukrainian letters), mid-letter; readline has no such limit."""
    with contextlib.suppress(ImportError):
        import readline  # noqa: F401 - importing it makes input() use it

    try:
        return input("\n> ") + "\n"
    except EOFError:
        return ""


async def chat(
    engine: Engine,
    *,
    user_id: str = "demo",
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
) -> None:
    interactive = stdin.isatty()
    if hasattr(stdout, "reconfigure"):  # a terminal that cannot show a character shows "?"
        stdout.reconfigure(errors="replace")
    print(
        "Poruch — terminal chat. Type a button's number (or b = back, m = menu); /quit leaves.",
        file=stdout,
    )
    keys = render(await engine.handle(parse("/start", {}, user_id)), stdout)
    while True:
        if interactive and stdin is sys.stdin:
            line = await asyncio.to_thread(read_interactive)
        else:
            if interactive:
                print("\n> ", end="", file=stdout, flush=True)
            line = await asyncio.to_thread(stdin.readline)
        if not line:  # end of input: leave cleanly
            print("\n(end of input — goodbye)", file=stdout)
            return
        if line.strip() in ("/quit", "/exit"):
            print("Goodbye. До побачення.", file=stdout)
            return
        if not line.strip():
            continue
        if not interactive:
            print(f"\n> {line.strip()}", file=stdout)
        keys = render(await engine.handle(parse(line, keys, user_id)), stdout)
