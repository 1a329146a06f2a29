"""Who receives an announcement, how many on each platform, and what Viber will bill.

Nobody who switched announcements off, blocked the bot, unsubscribed, or never
accepted the privacy notice is ever in an audience, whatever was chosen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Base, Person

LANGUAGES = ("uk", "en")
PLATFORMS = ("telegram", "viber")
#: Viber does not bill messages inside the 24-hour window a person opened by writing
FREE_WINDOW = timedelta(hours=24)
FOLLOWS_TABLE = "application_follows"  # storage/models/status.py


class AudienceError(ValueError):
    """An audience code nobody can send to; the message is for the operator."""


@dataclass(frozen=True, slots=True)
class Audience:
    kind: str  # all | lang | platform | region | following
    value: str = ""

    @classmethod
    def parse(cls, code: str) -> Audience:
        text = code.strip()
        kind, _, value = text.partition(":")
        kind, value = kind.lower(), value.strip()
        if kind in ("all", "following") and not value:
            return cls(kind)
        if kind == "lang" and value.lower() in LANGUAGES:
            return cls(kind, value.lower())
        if kind == "platform" and value.lower() in PLATFORMS:
            return cls(kind, value.lower())
        if kind == "region" and value and len(value) <= 32:
            return cls(kind, value.upper())
        raise AudienceError(
            f"unknown audience {code!r}: use all, lang:uk, lang:en, platform:telegram, "
            "platform:viber, region:<oblast code> or following"
        )

    @property
    def code(self) -> str:
        return f"{self.kind}:{self.value}" if self.value else self.kind


def reachable_people() -> list[ColumnElement[bool]]:
    return [
        Person.announcements.is_(True),
        Person.reachable.is_(True),
        Person.subscribed.is_(True),
        Person.privacy_version.is_not(None),
    ]


def language_of(default_locale: str) -> ColumnElement[Any]:
    """The language a person reads: theirs, or the bot's default until they choose."""
    return func.coalesce(Person.locale, default_locale)


def _filters(audience: Audience, default_locale: str) -> list[ColumnElement[bool]]:
    conditions = reachable_people()
    if audience.kind == "lang":
        conditions.append(language_of(default_locale) == audience.value)
    elif audience.kind == "platform":
        conditions.append(Person.platform == audience.value)
    elif audience.kind == "region":
        conditions.append(func.upper(Person.region) == audience.value)
    elif audience.kind == "following":
        follows = Base.metadata.tables.get(FOLLOWS_TABLE)
        if follows is None:  # the status feature is not installed: nobody follows anything
            conditions.append(Person.id.is_(None))
        else:
            conditions.append(Person.id.in_(select(follows.c.person_id)))
    return conditions


def recipients(audience: Audience, default_locale: str) -> Select[int, str]:
    """(person id, language) of everyone the announcement goes to."""
    return (
        select(Person.id, language_of(default_locale))
        .where(*_filters(audience, default_locale))
        .order_by(Person.id)
    )


@dataclass(frozen=True, slots=True)
class Reach:
    """How many people an audience reaches, per platform, and the Viber bill."""

    per_platform: dict[str, int]
    viber_free: int
    viber_price: float

    @property
    def total(self) -> int:
        return sum(self.per_platform.values())

    @property
    def viber_billable(self) -> int:
        return max(self.per_platform.get("viber", 0) - self.viber_free, 0)

    @property
    def viber_cost(self) -> float:
        return round(self.viber_billable * self.viber_price, 2)

    def as_dict(self) -> dict[str, Any]:
        return {
            "per_platform": dict(self.per_platform),
            "viber_free": self.viber_free,
            "viber_estimated_cost_eur": self.viber_cost,
        }


async def reach(
    session: AsyncSession,
    audience: Audience,
    *,
    default_locale: str,
    viber_price: float,
    now: datetime,
) -> Reach:
    window_open = Person.last_seen_at >= now - FREE_WINDOW
    rows = await session.execute(
        select(
            Person.platform,
            func.count(),
            func.sum(case((window_open, 1), else_=0)),
        )
        .where(*_filters(audience, default_locale))
        .group_by(Person.platform)
        .order_by(Person.platform)
    )
    per_platform: dict[str, int] = {}
    viber_free = 0
    for platform, count, free in rows:
        per_platform[platform] = int(count)
        if platform == "viber":
            viber_free = int(free or 0)
    return Reach(per_platform=per_platform, viber_free=viber_free, viber_price=viber_price)


async def regions(session: AsyncSession) -> list[tuple[str, int]]:
    """Regions people told us, with how many reachable people are in each."""
    rows = await session.execute(
        select(func.upper(Person.region), func.count())
        .where(Person.region.is_not(None), *reachable_people())
        .group_by(func.upper(Person.region))
        .order_by(func.count().desc())
    )
    return [(str(region), cast(int, count)) for region, count in rows if region]
