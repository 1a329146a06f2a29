"""How many SQL statements the status and booking steps send, on both databases.

Each statement costs a round trip through the ORM (and, on PostgreSQL, the network),
so the busiest steps are held to what they need: a test here fails when a step
starts reading again what it, or the step before it in the same update, already
has. The hot store's own statements (person, state, processed events) do not go
through SQLAlchemy's cursor and are not counted; `usage_events` rows are.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from bot.app import App
from handlers.conversation import Conversation
from tests.conftest import onboard
from tests.status_support import DEMO_ROWS, csv_text, import_csv
from tests.test_booking_dialogs import OBOLON, press_nth


@contextmanager
def statements(app: App) -> Iterator[list[str]]:
    """Every statement sent to the database while the block runs."""
    sent: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(" ".join(statement.split()))

    engine = app.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", before)


async def count(app: App, step: Awaitable[object], at_most: int) -> list[str]:
    with statements(app) as sent:
        await step
    assert len(sent) <= at_most, "\n".join([f"{len(sent)} statements:", *sent])
    return sent


async def test_status_lookup_steps(app: App) -> None:
    await import_csv(app, csv_text(*DEMO_ROWS))
    chat = Conversation(app.engine, user_id="41")
    await onboard(chat, "en")

    # The number asked: the follow count and the person's pause in one SELECT (+ usage row).
    await count(app, chat.presses("application status"), 2)
    chat.expect("Type your application number")
    # Both pauses in one SELECT.
    await count(app, chat.says("VPO-2026-000124"), 1)
    chat.expect("date of birth")
    # Found: the application with the pauses, the usage row, then the result screen's
    # application with whether one follows it and its history, in one SELECT.
    sent = await count(app, chat.says("02.07.1979"), 3)
    assert sum("application_status_changes" in s for s in sent) == 1  # the history read once
    chat.expect("Application VPO-2026-000124", "Status: Documents needed")

    await count(app, chat.presses("Check another"), 1)
    await count(app, chat.says("VPO-2026-000124"), 1)
    # A wrong date: the lookup, old failures dropped, both failures in one INSERT, the
    # pauses and tries left in one SELECT, then the number asked again.
    await count(app, chat.says("01.01.1970"), 5)
    chat.expect("Not found, or the details do not match", "4 more tries")


async def test_booking_steps(app: App) -> None:
    chat = Conversation(app.engine, user_id="42")
    await onboard(chat, "en")

    # The first screen: the offer waiting and what one has booked, in one SELECT.
    await count(app, chat.presses("Book an appointment"), 2)
    await count(app, chat.presses("IDP certificate"), 1)
    await chat.shares_location(*OBOLON)
    await count(app, chat.presses("1. Obolon"), 1)  # the places taken over 14 days
    await count(app, press_nth(chat, "d:", 1), 1)  # … and over the day chosen
    # The hold (whether one holds another place and whether the new code is free, in
    # one SELECT), then the confirmation screen, which does not read the hold again.
    sent = await count(app, press_nth(chat, "t:", 2), 4)
    assert not any(s.startswith("SELECT appointments.id, appointments.code") for s in sent)
    chat.expect("Please check")
    # The booking (no look for pending reminders: a first booking has none), then the
    # booked screen, which does not read the appointment again.
    sent = await count(app, chat.presses("Confirm"), 6)
    assert sum(s.startswith("SELECT appointments.id, appointments.code") for s in sent) == 1
    chat.expect("You are booked", "Booking code")
