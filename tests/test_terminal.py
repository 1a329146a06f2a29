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
from handlers.terminal import chat, clean, parse, render
from storage.repositories import DialogStates, People


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


async def test_a_long_text_cut_mid_letter_keeps_the_staff_draft(sqlite_url: str) -> None:
    """3000 Ukrainian letters pasted in a terminal that cut the line at 4095 bytes, in the
    middle of a letter: the text is taken without the broken letter, nothing crashes on a
    strict UTF-8 terminal, and the draft goes on to the English text."""
    from bot.app import build_app
    from tests.conftest import make_settings

    app = await build_app(make_settings(sqlite_url, staff_ids="terminal:demo"), migrate=False)
    try:
        text = ("Оголошення для всіх. " * 150)[:3000]
        cut = text.encode()[:4095].decode("utf-8", "surrogateescape")  # ends in half a letter
        stdin = io.StringIO("2\n1\n10\n1\n" + cut + "\nSkip\n")  # English, agree, Staff, New
        raw = io.BytesIO()
        stdout = io.TextIOWrapper(raw, encoding="utf-8", errors="strict")
        await chat(app.engine, user_id="demo", stdin=stdin, stdout=stdout)
        stdout.flush()
        shown = raw.getvalue().decode("utf-8")
        assert "in English" in shown and "Who should receive it" in shown
        async with app.db.transaction() as session:
            person = await People(session).find("terminal", "demo")
            assert person is not None
            state = await DialogStates(session).load(person.id)
        assert state is not None and state.dialog == "staff"
        assert state.data["uk"] == clean(cut).strip() and state.data["uk"].endswith("для")
    finally:
        await app.close()


async def test_an_error_keeps_what_was_entered(sqlite_app: App) -> None:
    """A step that fails: the apology offers the way back to the draft, intact."""
    from bot.engine import Context, Dialog, Incoming, Step

    boom = Dialog("boom")

    @boom.step("ask")
    class Ask(Step):
        async def show(self, ctx: Context) -> None:
            ctx.ask(f"Draft so far: {ctx.data.get('draft', '')}")

        async def handle(self, ctx: Context, event: Incoming) -> None:
            if event.text == "fail":
                raise RuntimeError("a bug")
            ctx.data["draft"] = event.text
            ctx.goto("ask")

    sqlite_app.engine.dialogs.register(boom)
    from handlers.conversation import Conversation
    from tests.conftest import onboard

    person = Conversation(sqlite_app.engine, user_id="err")
    await onboard(person, "en")
    async with sqlite_app.db.transaction() as session:
        found = await People(session).find("test", "err")
        assert found is not None
        states = DialogStates(session)
        state = await states.load(found.id)
        assert state is not None
        state.dialog, state.step, state.data = "boom", "ask", {}
        await states.save(found.id, state)
    await person.says("a long careful text")
    await person.says("fail")
    person.expect("something went wrong", "kept", "Main menu", buttons=["Back to where I was"])
    await person.presses("Back to where I was")
    person.expect("Draft so far: a long careful text")
