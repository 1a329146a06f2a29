"""The terminal chat: numbered buttons, free text, and a clean exit at end of input."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from bot.app import App
from bot.engine import Button, Kind, Reply, Request
from bot.settings import Settings
from handlers.terminal import chat, parse, render
from storage.repositories import People


def test_render_numbers_buttons_across_replies() -> None:
    out = io.StringIO()
    keys = render(
        [
            Reply(text="First", title="Title", buttons=((Button("A", "a"), Button("B", "b")),)),
            Reply(
                text="Second",
                buttons=(
                    (Button("C", "c"),),
                    (Button("Back", "g:back"), Button("Menu", "g:menu")),
                ),
                request=Request.PHONE,
            ),
        ],
        out,
    )
    assert keys == {"1": "a", "2": "b", "3": "c", "b": "g:back", "m": "g:menu"}
    text = out.getvalue()
    assert "== Title ==" in text and "[1] A   [2] B" in text and "[3] C" in text
    assert "[b] Back   [m] Menu" in text
    assert "phone +380" in text


def test_number_buttons_are_pressed_by_their_own_number() -> None:
    """ "How many children?" [1] … [6] [0]: typing 0 means zero, typing 7 is a typed answer."""
    numbers = tuple(Button(str(n), f"n:{n}") for n in (1, 2, 3, 4, 5, 6, 0))
    keys = render([Reply(text="How many?", buttons=(numbers,))], io.StringIO())
    assert parse("0", keys, "u").payload == "n:0"
    assert parse("3", keys, "u").payload == "n:3"
    seven = parse("7", keys, "u")
    assert (seven.kind, seven.text) == (Kind.TEXT, "7")


def test_parse_numbers_text_commands_contact_and_location() -> None:
    payloads = {"1": "a", "2": "b", "m": "g:menu"}
    assert parse("2\n", payloads, "u").payload == "b"
    assert parse("M", payloads, "u").payload == "g:menu"
    assert parse(" 1 ", payloads, "u").kind is Kind.BUTTON
    beyond = parse("3", payloads, "u")
    assert (beyond.kind, beyond.text) == (Kind.TEXT, "3")  # not a button: typed text
    assert parse("/menu", payloads, "u").kind is Kind.COMMAND
    contact = parse("phone +380671234567", payloads, "u")
    assert (contact.kind, contact.phone) == (Kind.CONTACT, "+380671234567")
    location = parse("location 50.45 30.52", payloads, "u")
    assert (location.kind, location.latitude, location.longitude) == (Kind.LOCATION, 50.45, 30.52)
    assert parse("location here", payloads, "u").kind is Kind.TEXT
    assert parse("hello", payloads, "u").platform == "terminal"


async def test_chat_walks_the_menu_with_numbers(sqlite_app: App) -> None:
    stdin = io.StringIO("2\n1\n\n5\nmenu\n/quit\nnever read\n")
    stdout = io.StringIO()
    await chat(sqlite_app.engine, user_id="t1", stdin=stdin, stdout=stdout)
    text = stdout.getvalue()
    assert "Please choose your language" in text
    assert "What I store" in text and "Main menu" in text
    assert "0 800 503 753" in text  # [5] was Contacts & hotlines
    assert text.rstrip().endswith("Goodbye. До побачення.")
    assert "never read" not in text


async def test_chat_leaves_at_end_of_input(sqlite_app: App) -> None:
    stdout = io.StringIO()
    await chat(sqlite_app.engine, stdin=io.StringIO(""), stdout=stdout)
    assert "Оберіть мову" in stdout.getvalue()
    assert "end of input" in stdout.getvalue()


def run_chat(tmp_path: Path, stdin: str | None) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k.upper() not in _setting_names()}
    env["DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path}/fresh.sqlite3"
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "chat"],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _setting_names() -> set[str]:
    return {name.upper() for name in Settings.model_fields}


def test_python_m_bot_chat_sets_up_and_leaves_cleanly(tmp_path: Path) -> None:
    """A fresh SQLite file, no terminal: migrate, talk, and exit 0 (as `make demo` does)."""
    closed, piped = tmp_path / "closed", tmp_path / "piped"
    closed.mkdir()
    piped.mkdir()
    runs = [(run_chat(closed, None), ""), (run_chat(piped, "2\n1\n5\n"), "2\n1\n5\n")]
    outputs = []
    for process, lines in runs:
        stdout, stderr = process.communicate(lines or None, timeout=120)
        assert process.returncode == 0, stderr
        assert "Traceback" not in stderr
        outputs.append(stdout)
    assert "Оберіть мову" in outputs[0] and "end of input" in outputs[0]
    assert "Main menu" in outputs[1] and "1545" in outputs[1] and "end of input" in outputs[1]
    assert (closed / "fresh.sqlite3").exists() and (piped / "fresh.sqlite3").exists()


async def test_a_stray_number_on_my_data_changes_nothing(sqlite_app: App) -> None:
    """Typing `1` on "My data" (meant for another screen) must not switch announcements off."""
    stdin = io.StringIO("2\n1\n8\n1\n")  # English, I agree, [8] My data, then a stray 1
    stdout = io.StringIO()
    await chat(sqlite_app.engine, user_id="t6", stdin=stdin, stdout=stdout)
    assert "What I store about you" in stdout.getvalue()
    assert "Stop announcements?" in stdout.getvalue()
    async with sqlite_app.db.transaction() as session:
        person = await People(session).find("terminal", "t6")
        assert person is not None and person.announcements is True
