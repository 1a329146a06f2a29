"""After "Delete my data" nothing in any table links to the person.

The person writes on Viber, books a visit (its reminders wait in the outbox)
and gets messages whose delivery Viber confirms. Then every table of the
database is dumped and searched for anything that could name them: their Viber
id, a hash of it that needs no secret, their booking code, their internal
number in a person column, their appointments' numbers, their pending reminders.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.app import App
from bot.services import retention
from bot.services.booking.reminders import catalog_of
from bot.services.personal_data import erase_person
from storage.db import Database
from storage.models import Base
from storage.repositories import People
from tests.booking_support import book, kyiv
from tests.conftest import Clock
from tests.viber_support import onboard, viber_world

OFFICE = "kyiv-cnap-obolon"  # demo data: Thursday 09:00–18:00
THU_10 = kyiv(2026, 11, 26, 10)
VIBER_ID = "erase-me=="
# What the receipts were keyed with before: a key written in the source, so anyone
# who knows a Viber id could compute it.
OLD_FIXED_KEY = hashlib.blake2b(
    VIBER_ID.encode(), key=b"poruch/viber-receipt/v1", digest_size=16
).hexdigest()


async def dump(db: Database) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table in the database, whatever models know of it."""

    def table_names(connection: Any) -> list[str]:
        return list(inspect(connection).get_table_names())

    rows: dict[str, list[dict[str, Any]]] = {}
    async with db.engine.connect() as connection:
        assert isinstance(connection, AsyncConnection)
        for name in await connection.run_sync(table_names):
            result = await connection.execute(text(f'SELECT * FROM "{name}"'))
            rows[name] = [dict(row._mapping) for row in result]
    return rows


async def test_nothing_links_to_an_erased_person(db_url: str, clock: Clock) -> None:
    async with viber_world(db_url, clock) as world:
        app: App = world.app
        person = world.person(VIBER_ID, "en")
        await onboard(person)
        stored = await world.stored_person(VIBER_ID)
        assert stored is not None
        booked = await book(
            app.db, catalog_of(app.runtime), stored.id, THU_10, clock(), office_id=OFFICE
        )
        assert booked.appointment is not None
        appointment = booked.appointment
        reminder = f"reminder:{appointment.id}:"
        assert any(
            str(row["dedupe_key"]).startswith(reminder) and row["state"] == "pending"
            for row in (await dump(app.db))["outbox"]
        ), "booking queued its reminders"
        for event, token in (("delivered", 9001), ("seen", 9001), ("failed", 9002)):
            status, _ = await world.viber.callback(
                {
                    "event": event,
                    "timestamp": 1764000000000,
                    "message_token": token,
                    "user_id": VIBER_ID,
                    "desc": "x",
                }
            )
            assert status == 200
        before = await dump(app.db)
        assert before["viber_receipts"], "the receipts were recorded"

        async with app.db.transaction() as session:
            found = await People(session).find("viber", VIBER_ID)
            assert found is not None
            await erase_person(session, found, app.runtime.personal_data)

        after = await dump(app.db)
    assert not any(str(row["dedupe_key"]).startswith(reminder) for row in after["outbox"])

    needles = {VIBER_ID, OLD_FIXED_KEY, appointment.code}
    for table, table_rows in after.items():
        for row in table_rows:
            for column, value in row.items():
                shown = value.decode("latin-1") if isinstance(value, bytes) else str(value)
                for needle in needles:
                    assert needle not in shown, (table, column)
                if column.endswith("person_id"):
                    assert value != stored.id, (table, column)
                if column.endswith("appointment_id"):
                    assert value != appointment.id, (table, column)
    assert after["viber_receipts"], "receipts stay for the report, keyed so they name nobody"


def test_every_table_has_a_retention_rule() -> None:
    """A new table must say what removes its rows (bot/services/retention.py, docs/privacy.md)."""
    import storage.models.booking
    import storage.models.broadcast
    import storage.models.status
    import storage.models.viber  # noqa: F401

    assert set(Base.metadata.tables) == set(retention.RULES)
    for name, rule in retention.RULES.items():
        table = Base.metadata.tables[name]
        cascades = {fk.column.table.name for fk in table.foreign_keys if fk.ondelete == "CASCADE"}
        if rule.startswith("with the person"):
            assert "people" in cascades, name


async def test_retention_forgets_old_receipts(app: App, clock: Clock) -> None:
    from bot.services import receipts

    now = clock()
    async with app.db.transaction() as session:
        for token, age in (("1", 91), ("2", 89)):
            await receipts.record(
                session,
                app.settings,
                message_token=token,
                event="delivered",
                user_id="someone==",
                at=now - timedelta(days=age),
            )
    async with app.db.transaction() as session:
        await retention.apply_retention(session, now, known=app.runtime.personal_data)
    async with app.db.transaction() as session:
        left = (await session.scalars(text("SELECT message_token FROM viber_receipts"))).all()
    assert left == ["2"]


async def test_retention_forgets_finished_deliveries_and_stale_applications(
    app: App, clock: Clock
) -> None:
    from datetime import date

    from sqlalchemy import select, update

    from bot.delivery.outbox import enqueue
    from bot.engine.events import Reply
    from storage.models import OutboxMessage
    from storage.models.status import Application
    from tests.booking_support import make_people

    now = clock()
    old, recent = now - timedelta(days=400), now - timedelta(days=30)
    [person] = await make_people(app.db, 1)
    async with app.db.transaction() as session:
        for key in ("old-sent", "old-pending", "recent-sent"):
            await enqueue(
                session,
                person_id=person,
                kind="status",
                dedupe_key=key,
                replies=Reply(text=key),
                not_before=old,
            )
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.dedupe_key.in_(("old-sent", "recent-sent")))
            .values(state="sent")
        )
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.dedupe_key == "old-sent")
            .values(sent_at=old, created_at=old)
        )
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.dedupe_key == "recent-sent")
            .values(sent_at=recent)
        )
        for number, at in (("OLD1", old), ("NEW1", recent)):
            session.add(
                Application(
                    number=number,
                    printed_number=number,
                    birth_date=date(1980, 1, 1),
                    status="submitted",
                    updated_at=at,
                    checked_at=at,
                )
            )
    async with app.db.transaction() as session:
        await retention.apply_retention(session, now, known=app.runtime.personal_data)
    async with app.db.transaction() as session:
        keys = set(await session.scalars(select(OutboxMessage.dedupe_key)))
        numbers = set(await session.scalars(select(Application.number)))
    assert keys == {"old-pending", "recent-sent"}  # a waiting message is never dropped
    assert numbers == {"NEW1"}
