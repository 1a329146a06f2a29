"""Viber's delivered / seen / failed callbacks, kept by message token (for announcement
reports): the stored side of the `Receipts` port (bot/ports.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.secret_key import keyed_hash
from bot.settings import Settings
from storage.db import Database
from storage.models.viber import ViberReceipt

EVENTS = ("delivered", "seen", "failed")
PURPOSE = "viber-receipt"


def receiver_key(settings: Settings, user_id: str) -> str:
    """Tells the receivers of one message apart without naming them.

    Keyed with SECRET_KEY, never a key written in the code: anyone who knows a
    Viber id could otherwise compute its key and find that person's receipts,
    also after "Delete my data".
    """
    return keyed_hash(settings, PURPOSE, user_id)[:32]


async def record(
    session: AsyncSession,
    settings: Settings,
    *,
    message_token: str,
    event: str,
    user_id: str,
    at: datetime,
    reason: str = "",
) -> bool:
    """Store one receipt; False when this very callback was stored before (a re-delivery)."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(ViberReceipt)
        .values(
            message_token=message_token[:24],
            event=event,
            receiver_key=receiver_key(settings, user_id),
            reason=reason[:64],
            at=at,
        )
        .on_conflict_do_nothing(index_elements=["message_token", "event", "receiver_key"])
    )
    result = await session.execute(statement)
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def counts(session: AsyncSession, message_token: str) -> dict[str, int]:
    """How many receivers got / read / failed one message (a broadcast counts each)."""
    rows = await session.execute(
        select(ViberReceipt.event, func.count())
        .where(ViberReceipt.message_token == message_token)
        .group_by(ViberReceipt.event)
    )
    found = {event: int(n) for event, n in rows.all()}
    return {event: found.get(event, 0) for event in EVENTS}


class StoredReceipts:
    """`Receipts` in the database, each in a transaction of its own."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings

    async def record(
        self, *, message_token: str, event: str, user_id: str, at: datetime, reason: str = ""
    ) -> bool:
        async with self.db.transaction() as session:
            return await record(
                session,
                self.settings,
                message_token=message_token,
                event=event,
                user_id=user_id,
                at=at,
                reason=reason,
            )
