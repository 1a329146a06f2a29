"""Helpers shared by the tests/test_status_*.py modules."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select

from bot.app import App
from bot.services.status.importer import ImportReport, import_text
from storage.models import OutboxMessage, Person
from storage.models.status import Application, Follow, LookupFailure, StatusChange
from storage.repositories import People

HEADER = "number,birth_date,status,updated_at,note"

DEMO_ROWS = [
    "VPO-2026-000123,1984-03-15,in_review,2026-11-20T10:00:00+02:00,",
    "VPO-2026-000124,1979-07-02,needs_documents,2026-11-18T14:30:00+02:00,Bring the IBAN",
]


async def import_csv(app: App, text: str, *, dry_run: bool = False) -> ImportReport:
    """`import_text` with the app's database, clock and default language."""
    return await import_text(
        app.db,
        text,
        now=app.runtime.now(),
        default_locale=app.settings.default_locale,
        dry_run=dry_run,
    )


def csv_text(*rows: str) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


async def count(app: App, model: type) -> int:
    async with app.db.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def outbox(app: App) -> Sequence[OutboxMessage]:
    async with app.db.transaction() as session:
        result = await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))
        return result.scalars().all()


async def person(app: App, user_id: str, locale: str = "en") -> int:
    async with app.db.transaction() as session:
        found, _ = await People(session).get_or_register("test", user_id)
        found.locale = locale
        return found.id


async def application_id(app: App, key: str) -> int:
    async with app.db.transaction() as session:
        found = await session.scalar(select(Application.id).where(Application.number == key))
        assert found is not None
        return int(found)


__all__ = [
    "DEMO_ROWS",
    "HEADER",
    "Application",
    "Follow",
    "LookupFailure",
    "Person",
    "StatusChange",
    "application_id",
    "count",
    "csv_text",
    "outbox",
    "person",
]
