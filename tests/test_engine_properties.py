"""Whatever a person sends, in whatever order, the engine answers and never breaks.

Hypothesis drives random conversations: typed text, buttons that were offered,
forged or stale payloads, commands, shared contacts and locations, stickers.
One app serves the whole test (building one loads the service data); each
example is a new person.
"""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import App, build_app
from bot.engine import Incoming, Kind, Reply
from tests.conftest import Clock, make_settings

COMMANDS = ["/start", "/menu", "/language", "/help", "/cancel", "/unknown", "/start@PoruchBot"]
WORDS = ["menu", "меню", "back", "назад", "help", "допомога", "cancel", "мова", "1", "так", ""]
ACTIONS = ["text", "word", "offered", "offered_label", "payload", "command", "other"]

texts = st.text(max_size=80)
payloads = st.one_of(
    st.text(max_size=60),
    st.sampled_from(["g:menu", "g:back", "g:resume", "g:lang", "lang:xx", "m:staff", "yes"]),
)


def offered(replies: list[Reply]) -> list[tuple[str, str]]:
    return [(b.label, b.payload) for reply in replies for row in reply.buttons for b in row]


async def play(app: App, user_id: str, data: st.DataObject, steps: int) -> None:
    replies: list[Reply] = []
    for _ in range(steps):
        buttons = offered(replies)
        action = data.draw(st.sampled_from(ACTIONS if buttons else ACTIONS[:2] + ACTIONS[4:]))
        event = Incoming("test", user_id, Kind.TEXT, language_code="en")
        if action == "text":
            event = Incoming("test", user_id, Kind.TEXT, text=data.draw(texts))
        elif action == "word":
            event = Incoming("test", user_id, Kind.TEXT, text=data.draw(st.sampled_from(WORDS)))
        elif action == "offered":
            _, payload = data.draw(st.sampled_from(buttons))
            event = Incoming("test", user_id, Kind.BUTTON, payload=payload)
        elif action == "offered_label":
            label, _ = data.draw(st.sampled_from(buttons))
            event = Incoming("test", user_id, Kind.TEXT, text=f"  {label.upper()} ")
        elif action == "payload":
            event = Incoming("test", user_id, Kind.BUTTON, payload=data.draw(payloads))
        elif action == "command":
            command = data.draw(st.sampled_from(COMMANDS)) + data.draw(st.sampled_from(["", " x"]))
            event = Incoming("test", user_id, Kind.COMMAND, text=command)
        else:
            kind = data.draw(st.sampled_from([Kind.UNSUPPORTED, Kind.CONTACT, Kind.LOCATION]))
            event = Incoming(
                "test",
                user_id,
                kind,
                phone="+380671234567" if kind is Kind.CONTACT else None,
                latitude=50.45 if kind is Kind.LOCATION else None,
                longitude=30.52 if kind is Kind.LOCATION else None,
            )
        replies = await app.engine.handle(event)
        assert replies, f"no answer to {event}"
        for reply in replies:
            assert reply.text.strip(), f"an empty message answered {event}"
            assert all(len(b.payload.encode()) <= 40 for row in reply.buttons for b in row)
        assert app.metrics.dialog_errors._value.get() == 0, f"a dialog failed on {event}"


def test_any_sequence_of_events_is_answered_without_errors(
    tmp_path: Path, sqlite_template: Path
) -> None:
    # Hypothesis calls the test many times; the app lives in one loop around all examples.
    database = tmp_path / "bot.sqlite3"
    database.write_bytes(sqlite_template.read_bytes())
    loop = asyncio.new_event_loop()
    app = loop.run_until_complete(
        build_app(make_settings(f"sqlite+aiosqlite:///{database}"), migrate=False, clock=Clock())
    )
    people = itertools.count()
    try:

        @settings(
            max_examples=50,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        )
        @given(data=st.data(), steps=st.integers(min_value=1, max_value=10))
        def conversation(data: st.DataObject, steps: int) -> None:
            loop.run_until_complete(play(app, f"h{next(people)}", data, steps))

        conversation()
    finally:
        loop.run_until_complete(app.close())
        loop.close()
