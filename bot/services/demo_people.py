"""Demo people on Telegram and Viber, so an announcement in `make demo` has an audience.

The person at the terminal is not seeded: a newcomer to the demo goes through
the language choice and the privacy notice like anyone else.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.resources import Resources
from bot.services.privacy import PRIVACY_VERSION
from bot.settings import Settings
from storage.models import Person

# (platform, user id, language, oblast KATOTTG code) — invented identities.
DEMO_PEOPLE = (
    ("telegram", "100001", "uk", "UA63000000000041885"),  # Kharkiv oblast
    ("telegram", "100002", "en", "UA80000000000093317"),  # Kyiv city
    ("telegram", "100003", "uk", "UA12000000000090473"),  # Dnipropetrovsk oblast
    ("viber", "demo-viber-1==", "uk", "UA59000000000057109"),  # Sumy oblast
    ("viber", "demo-viber-2==", "en", "UA46000000000026241"),  # Lviv oblast
)


async def seed_people(
    session: AsyncSession, *, now: datetime, resources: Resources, settings: Settings
) -> str:
    added = 0
    for platform, user_id, language, region in DEMO_PEOPLE:
        found = await session.scalar(
            select(Person).where(Person.platform == platform, Person.platform_user_id == user_id)
        )
        if found is not None:
            continue
        session.add(
            Person(
                platform=platform,
                platform_user_id=user_id,
                locale=language,
                region=region,
                consent_at=now,
                privacy_version=PRIVACY_VERSION,
                created_at=now,
                last_seen_at=now,
            )
        )
        added += 1
    return f"people: {added} added, {len(DEMO_PEOPLE) - added} already there"
