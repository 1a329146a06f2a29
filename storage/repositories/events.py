"""Exactly-once handling of platform deliveries (webhook retries, polling replays).

A claimed row may also carry the replies committed with the update until they are
sent: after a crash between the commit and the send they are sent on restart
(at-least-once replies, see docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import String, any_, bindparam, delete, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ProcessedEvent, utcnow

#: PostgreSQL: the ids as one array parameter, so every call is the same prepared
#: statement (an IN list of its own length was compiled and planned anew each time)
_SENT_ANY = (
    update(ProcessedEvent)
    .where(
        ProcessedEvent.platform == bindparam("of_platform"),
        ProcessedEvent.event_id == any_(bindparam("ids", type_=ARRAY(String))),
    )
    .values(replies=None)
)


class ProcessedEvents:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(self, platform: str, event_id: str, replies: str | None = None) -> bool:
        """True the first time an event id is seen; False for a redelivery.

        `replies` (JSON) are kept with the claim until `replies_sent`.
        """
        insert = (
            pg_insert if self.session.get_bind().dialect.name == "postgresql" else sqlite_insert
        )
        statement = (
            insert(ProcessedEvent)
            .values(platform=platform, event_id=event_id, at=utcnow(), replies=replies)
            .on_conflict_do_nothing(index_elements=["platform", "event_id"])
        )
        result = await self.session.execute(statement)
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def replies_sent(self, platform: str, event_ids: Sequence[str]) -> None:
        if self.session.get_bind().dialect.name == "postgresql":
            await self.session.execute(
                _SENT_ANY, {"of_platform": platform, "ids": list(event_ids)}
            )
            return
        await self.session.execute(
            update(ProcessedEvent)
            .where(ProcessedEvent.platform == platform, ProcessedEvent.event_id.in_(event_ids))
            .values(replies=None)
        )

    async def take_unsent(self, platform: str, claimed_before: datetime) -> list[tuple[str, str]]:
        """(event id, replies) committed before `claimed_before` and never marked sent.

        The rows are locked and cleared in this transaction (SKIP LOCKED on PostgreSQL;
        SQLite's writer lock on SQLite), so two processes sweeping at once never both
        send them.
        """
        query = (
            select(ProcessedEvent.event_id, ProcessedEvent.replies)
            .where(
                ProcessedEvent.platform == platform,
                ProcessedEvent.replies.is_not(None),
                ProcessedEvent.at < claimed_before,
            )
            .order_by(ProcessedEvent.at)
            .limit(1000)
        )
        if self.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = [(str(row[0]), str(row[1])) for row in (await self.session.execute(query)).all()]
        if rows:
            await self.replies_sent(platform, [event_id for event_id, _ in rows])
        return rows

    async def forget_before(self, cutoff: datetime) -> None:
        await self.session.execute(delete(ProcessedEvent).where(ProcessedEvent.at < cutoff))
