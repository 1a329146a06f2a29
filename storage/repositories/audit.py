"""The audit log: staff actions, erasures and announcements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEntry, utcnow


class AuditLog:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(self, actor: str, action: str, **details: Any) -> None:
        self.session.add(AuditEntry(at=utcnow(), actor=actor, action=action, details=details))

    async def recent(self, limit: int = 50, action: str | None = None) -> Sequence[AuditEntry]:
        statement = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
        if action:
            statement = statement.where(AuditEntry.action == action)
        return (await self.session.scalars(statement)).all()
