"""`make demo` and `make demo-staff`: two terminal chats on one database each print their own."""

from __future__ import annotations

import io

from sqlalchemy import select

from bot.app import build_app
from bot.delivery.outbox import enqueue
from bot.engine.events import Reply
from handlers.demo_delivery import add_demo_messengers
from storage.models import OutboxMessage
from storage.repositories import People
from tests.broadcast_support import RunningWorker, wait_until
from tests.conftest import Clock, make_settings


async def test_each_terminal_prints_only_its_own_persons_messages(
    sqlite_url: str, clock: Clock
) -> None:
    settings = make_settings(sqlite_url)
    citizen_app = await build_app(settings, migrate=False, clock=clock)
    staff_app = await build_app(settings, migrate=False, clock=clock)
    citizen_out, staff_out = io.StringIO(), io.StringIO()
    add_demo_messengers(citizen_app, terminal=citizen_out, user_id="demo")
    add_demo_messengers(staff_app, terminal=staff_out, user_id="staff")
    try:
        async with citizen_app.db.transaction() as session:
            for user in ("demo", "staff"):
                person, _ = await People(session).get_or_register("terminal", user)
                for n in range(3):
                    await enqueue(
                        session,
                        person_id=person.id,
                        kind="case",
                        dedupe_key=f"{user}:{n}",
                        replies=Reply(text=f"for {user} #{n}"),
                        not_before=clock(),
                    )
        # The staff terminal's worker starts first: it must leave the citizen's rows alone.
        async with RunningWorker(staff_app), RunningWorker(citizen_app):
            await wait_until(
                lambda: (
                    citizen_out.getvalue().count("📨") == 3
                    and staff_out.getvalue().count("📨") == 3
                )
            )
        assert "for staff" not in citizen_out.getvalue()
        assert "for demo" not in staff_out.getvalue()
        async with citizen_app.db.transaction() as session:
            rows = (await session.scalars(select(OutboxMessage))).all()
        assert {(row.state, row.attempts) for row in rows} == {("sent", 1)}
    finally:
        await citizen_app.close()
        await staff_app.close()
