"""Who follows which application, the history shown with a status, and "My data" lines."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, bindparam, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.selectable import ScalarSelect

from bot.i18n import Translator
from bot.services.personal_data import PersonalData, Section
from storage.models import Person
from storage.models.status import Application, Follow, StatusChange

MAX_FOLLOWS = 10  # enough for a family; keeps the list of buttons short


async def follow(
    session: AsyncSession, person_id: int, application_id: int, now: datetime
) -> bool:
    """True when a new follow was made; following twice is harmless."""
    if await is_following(session, person_id, application_id):
        return False
    session.add(Follow(person_id=person_id, application_id=application_id, created_at=now))
    await session.flush()
    return True


async def unfollow(session: AsyncSession, person_id: int, application_id: int) -> bool:
    result = await session.execute(
        delete(Follow).where(
            Follow.person_id == person_id, Follow.application_id == application_id
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def is_following(session: AsyncSession, person_id: int, application_id: int) -> bool:
    found = await session.scalar(
        select(Follow.id).where(
            Follow.person_id == person_id, Follow.application_id == application_id
        )
    )
    return found is not None


#: how many applications `:person_id` follows, as a scalar subquery (built once)
COUNT: ScalarSelect[int] = (
    select(func.count())
    .select_from(Follow)
    .where(Follow.person_id == bindparam("person_id"))
    .scalar_subquery()
)
_COUNT = select(COUNT)


async def count_follows(session: AsyncSession, person_id: int) -> int:
    return int(await session.scalar(_COUNT, {"person_id": person_id}) or 0)


async def followed(session: AsyncSession, person_id: int) -> Sequence[Application]:
    result = await session.execute(
        select(Application)
        .join(Follow, Follow.application_id == Application.id)
        .where(Follow.person_id == person_id)
        .order_by(Follow.created_at, Follow.id)
    )
    return result.scalars().all()


async def application(session: AsyncSession, application_id: int) -> Application | None:
    """One the person has just looked up: the dialog keeps its id once the birth date matched."""
    return await session.get(Application, application_id)


_FOLLOWING = (
    select(Follow.id)
    .where(Follow.person_id == bindparam("person_id"), Follow.application_id == Application.id)
    .exists()
)
_SHOWN = (
    select(Application, _FOLLOWING, StatusChange)
    .outerjoin(StatusChange, StatusChange.application_id == Application.id)
    .where(Application.id == bindparam("application_id"))
    .order_by(StatusChange.changed_at.desc(), StatusChange.id.desc())
    .limit(bindparam("limit", type_=Integer))
)


@dataclass(frozen=True)
class Shown:
    """What the status screen shows of an application the person looked up."""

    application: Application
    following: bool
    #: `history`: newest first
    history: Sequence[StatusChange]


async def shown(
    session: AsyncSession, person_id: int, application_id: int, limit: int = 10
) -> Shown | None:
    """`application`, `is_following` and `history` in one statement, for the status screen."""
    rows = (
        await session.execute(
            _SHOWN, {"person_id": person_id, "application_id": application_id, "limit": limit}
        )
    ).all()
    if not rows:
        return None
    return Shown(
        rows[0][0], bool(rows[0][1]), [change for _, _, change in rows if change is not None]
    )


async def followed_application(
    session: AsyncSession, person_id: int, application_id: int
) -> Application | None:
    """The application, only if this person follows it (they proved the birth date then)."""
    result = await session.execute(
        select(Application)
        .join(Follow, Follow.application_id == Application.id)
        .where(Follow.person_id == person_id, Application.id == application_id)
    )
    return result.scalar_one_or_none()


async def history(
    session: AsyncSession, application_id: int, limit: int = 10
) -> Sequence[StatusChange]:
    """Newest first."""
    result = await session.execute(
        select(StatusChange)
        .where(StatusChange.application_id == application_id)
        .order_by(StatusChange.changed_at.desc(), StatusChange.id.desc())
        .limit(limit)
    )
    return result.scalars().all()


async def describe(session: AsyncSession, person: Person, tr: Translator) -> list[str]:
    """What "My data" lists for this feature."""
    lines: list[str] = []
    applications = await followed(session, person.id)
    if applications:
        lines.append(
            tr._(
                "Applications you follow: {numbers}",
                numbers=", ".join(a.printed_number for a in applications),
            )
        )
    return lines


#: what status keeps about a person (bot.app.FEATURES)
PERSONAL_DATA = PersonalData(sections=(Section("status", describe),))
