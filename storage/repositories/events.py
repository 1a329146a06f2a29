"""Exactly-once handling of platform deliveries (webhook retries, polling replays)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ProcessedEvent, utcnow


class ProcessedEvents:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(self, platform: str, event_id: str) -> bool:
        """True the first time an event id is seen; False for a redelivery."""
        insert = (
            pg_insert if self.session.get_bind().dialect.name == "postgresql" else sqlite_insert
        )
        statement = (
            insert(ProcessedEvent)
            .values(platform=platform, event_id=event_id, at=utcnow())
            .on_conflict_do_nothing(index_elements=["platform", "event_id"])
        )
        result = await self.session.execute(statement)
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def forget_before(self, cutoff: datetime) -> None:
        await self.session.execute(delete(ProcessedEvent).where(ProcessedEvent.at < cutoff))
