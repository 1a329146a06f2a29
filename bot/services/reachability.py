"""Whom the bot may still write to: the stored side of the `Reachability` and
`Subscribers` ports (bot/ports.py) that the messengers are handed.

A person who blocked the bot (Telegram) or left (Viber) is marked so; the engine
marks them reachable and subscribed again when they next write.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from bot.ports import Receiver
from storage.db import Database
from storage.models import Person
from storage.repositories import People


class StoredReachability:
    """`Subscribers` (and so `Reachability`) over the people table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def mark_unreachable(self, platform: str, platform_user_id: str) -> None:
        async with self.db.transaction() as session:
            await People(session).mark_unreachable(platform, platform_user_id)

    async def mark_unsubscribed(self, platform: str, user_ids: Sequence[str]) -> None:
        if not user_ids:
            return
        async with self.db.transaction() as session:
            people = People(session)
            for user_id in user_ids:
                await people.mark_unsubscribed(platform, user_id)

    async def receivers(self, platform: str, user_ids: Sequence[str]) -> dict[str, Receiver]:
        if not user_ids:
            return {}
        async with self.db.transaction() as session:
            rows = await session.execute(
                select(Person.platform_user_id, Person.subscribed, Person.api_version).where(
                    Person.platform == platform,
                    Person.platform_user_id.in_(list(user_ids)),
                )
            )
            return {
                user_id: Receiver(subscribed=bool(subscribed), api_version=api_version)
                for user_id, subscribed, api_version in rows.all()
            }
