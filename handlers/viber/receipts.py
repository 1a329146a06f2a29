"""delivered / seen / failed callbacks, kept by message token (for announcement reports)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.viber import ViberReceipt

EVENTS = ("delivered", "seen", "failed")
# A fixed key: the hash only has to tell receivers of one message apart, never name them.
_KEY = b"poruch/viber-receipt/v1"


def receiver_key(user_id: str) -> str:
    return hashlib.blake2b(user_id.encode(), key=_KEY, digest_size=16).hexdigest()


def callback_time(timestamp_ms: object, fallback: datetime) -> datetime:
    try:
        return datetime.fromtimestamp(int(timestamp_ms) / 1000, tz=UTC)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError, OSError):
        return fallback


async def record(
    session: AsyncSession,
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
            receiver_key=receiver_key(user_id),
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
