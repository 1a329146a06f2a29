"""Dialog state: load and save a person's place in a conversation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import DialogStateRow, utcnow


class StaleStateError(Exception):
    """Another writer saved this person's state in between (should not happen under the lock)."""


@dataclass
class StoredState:
    dialog: str
    step: str
    data: dict[str, Any] = field(default_factory=dict)
    history: list[str] = field(default_factory=list)
    offered: dict[str, str] = field(default_factory=dict)  # payload -> label
    failures: int = 0
    version: int = 0


class DialogStates:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def load(self, person_id: int) -> StoredState | None:
        row = await self.session.get(DialogStateRow, person_id, populate_existing=True)
        if row is None:
            return None
        return StoredState(
            dialog=row.dialog,
            step=row.step,
            data=dict(row.data or {}),
            history=list(row.history or []),
            offered=dict(row.offered or {}),
            failures=row.failures,
            version=row.version,
        )

    async def save(self, person_id: int, state: StoredState) -> None:
        """Write the state through, checking that nobody else wrote it meanwhile."""
        row = await self.session.get(DialogStateRow, person_id)
        if row is None:
            if state.version != 0:
                raise StaleStateError(person_id)
            row = DialogStateRow(person_id=person_id)
            self.session.add(row)
        elif row.version != state.version:
            raise StaleStateError(person_id)
        row.dialog = state.dialog
        row.step = state.step
        row.data = state.data
        row.history = state.history
        row.offered = state.offered
        row.failures = state.failures
        row.version = state.version + 1
        row.updated_at = utcnow()
        await self.session.flush()
        state.version = row.version

    async def clear(self, person_id: int) -> None:
        await self.session.execute(
            delete(DialogStateRow).where(DialogStateRow.person_id == person_id)
        )

    async def count_active(self, dialogs_other_than: tuple[str, ...] = ("menu",)) -> int:
        statement = (
            select(func.count())
            .select_from(DialogStateRow)
            .where(DialogStateRow.dialog.not_in(dialogs_other_than))
        )
        return int(await self.session.scalar(statement) or 0)
