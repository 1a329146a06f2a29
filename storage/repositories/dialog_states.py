"""Dialog state: load and save a person's place in a conversation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
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
        """Write the state through, checking that nobody else wrote it meanwhile.

        The check is a compare-and-set on `version` inside the statement itself, so a
        second writer is caught even where the per-person lock is missing (another
        process, a script): comparing with a row read earlier would miss it.
        """
        values: dict[str, Any] = {
            "dialog": state.dialog,
            "step": state.step,
            "data": state.data,
            "history": state.history,
            "offered": state.offered,
            "failures": state.failures,
            "version": state.version + 1,
            "updated_at": utcnow(),
        }
        if state.version == 0:
            insert = (
                pg_insert
                if self.session.get_bind().dialect.name == "postgresql"
                else sqlite_insert
            )
            statement: Any = (
                insert(DialogStateRow)
                .values(person_id=person_id, **values)
                .on_conflict_do_nothing(index_elements=["person_id"])
            )
        else:
            statement = (
                update(DialogStateRow)
                .where(
                    DialogStateRow.person_id == person_id,
                    DialogStateRow.version == state.version,
                )
                .values(**values)
                .execution_options(synchronize_session=False)
            )
        result = await self.session.execute(statement)
        if not result.rowcount:  # type: ignore[attr-defined]
            raise StaleStateError(person_id)
        state.version += 1

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
