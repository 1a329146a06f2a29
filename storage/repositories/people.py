"""People: find or register an identity, record choices, erase on request."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Person, utcnow


class People:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, person_id: int) -> Person | None:
        return await self.session.get(Person, person_id)

    async def find(self, platform: str, platform_user_id: str) -> Person | None:
        result = await self.session.execute(
            select(Person).where(
                Person.platform == platform, Person.platform_user_id == platform_user_id
            )
        )
        return result.scalar_one_or_none()

    async def get_or_register(self, platform: str, platform_user_id: str) -> tuple[Person, bool]:
        """The person behind an identity, created on first contact. Safe under concurrency."""
        person = await self.find(platform, platform_user_id)
        if person is not None:
            return person, False
        now = utcnow()
        values = {
            "platform": platform,
            "platform_user_id": platform_user_id,
            "created_at": now,
            "last_seen_at": now,
            "reachable": True,
            "subscribed": True,
            "announcements": True,
        }
        dialect = self.session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        statement = (
            insert(Person)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["platform", "platform_user_id"])
        )
        result = await self.session.execute(statement)
        created = bool(result.rowcount)  # type: ignore[attr-defined]
        person = await self.find(platform, platform_user_id)
        assert person is not None
        return person, created

    async def touch(self, person: Person, *, at: datetime | None = None) -> None:
        """They wrote to us: reachable and subscribed again."""
        person.last_seen_at = at or utcnow()
        person.reachable = True
        person.subscribed = True

    async def set_locale(self, person: Person, locale: str) -> None:
        person.locale = locale

    async def set_region(self, person: Person, region: str | None) -> None:
        person.region = region

    async def record_consent(self, person: Person, version: int, at: datetime) -> None:
        person.privacy_version = version
        person.consent_at = at

    async def set_announcements(self, person: Person, enabled: bool) -> None:
        person.announcements = enabled

    async def mark_unreachable(self, platform: str, platform_user_id: str) -> None:
        await self.session.execute(
            update(Person)
            .where(Person.platform == platform, Person.platform_user_id == platform_user_id)
            .values(reachable=False)
        )

    async def mark_unsubscribed(self, platform: str, platform_user_id: str) -> None:
        await self.session.execute(
            update(Person)
            .where(Person.platform == platform, Person.platform_user_id == platform_user_id)
            .values(subscribed=False)
        )

    async def erase(self, person_id: int) -> None:
        """Delete the person; every table that holds their data cascades."""
        await self.session.execute(delete(Person).where(Person.id == person_id))

    async def silent_since(self, cutoff: datetime, limit: int = 500) -> Sequence[int]:
        """People whose last message is older than `cutoff`, oldest first."""
        statement = (
            select(Person.id)
            .where(Person.last_seen_at < cutoff)
            .order_by(Person.last_seen_at, Person.id)
            .limit(limit)
        )
        return (await self.session.scalars(statement)).all()

    async def count(self) -> int:
        return int(await self.session.scalar(select(func.count()).select_from(Person)) or 0)

    async def all_ids(self) -> Sequence[int]:
        return (await self.session.scalars(select(Person.id).order_by(Person.id))).all()
