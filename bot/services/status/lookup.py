"""Private status lookup: number + birth date, with a lockout against guessing.

An unknown number and a wrong birth date give the same answer, so nobody can
learn whether a number exists. Five failed tries within an hour lock the
person out until the oldest of those five is an hour old. A success does not
reset the count: otherwise checking one's own application between guesses
would defeat the lockout.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.status.changes import apply_record, find_by_key, lock_applications
from bot.services.status.follows import history
from bot.services.status.numbers import ApplicationNumber
from bot.services.status.registry import RegistryClient, RegistryUnavailable
from storage.models.status import Application, LookupFailure, StatusChange

MAX_FAILURES = 5
WINDOW = timedelta(hours=1)
KEEP_FAILURES = timedelta(days=1)


class Outcome(StrEnum):
    FOUND = "found"
    MISMATCH = "mismatch"  # unknown number OR wrong birth date: never say which
    LOCKED = "locked"
    UNAVAILABLE = "unavailable"  # registry down and no saved copy matches


@dataclass(frozen=True)
class LookupResult:
    outcome: Outcome
    application: Application | None = None
    history: Sequence[StatusChange] = field(default_factory=tuple)
    #: set when the registry is down and a saved copy is shown: when it was last confirmed
    as_of: datetime | None = None
    locked_until: datetime | None = None
    tries_left: int = MAX_FAILURES


async def locked_until(session: AsyncSession, person_id: int, now: datetime) -> datetime | None:
    """When this person may try again, or None if they may now."""
    result = await session.execute(
        select(LookupFailure.at)
        .where(LookupFailure.person_id == person_id, LookupFailure.at > now - WINDOW)
        .order_by(LookupFailure.at.desc())
        .limit(MAX_FAILURES)
    )
    recent = result.scalars().all()
    if len(recent) < MAX_FAILURES:
        return None
    return recent[-1] + WINDOW


async def tries_left(session: AsyncSession, person_id: int, now: datetime) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(LookupFailure)
        .where(LookupFailure.person_id == person_id, LookupFailure.at > now - WINDOW)
    )
    return max(0, MAX_FAILURES - int(count or 0))


async def record_failure(session: AsyncSession, person_id: int, now: datetime) -> None:
    await session.execute(delete(LookupFailure).where(LookupFailure.at < now - KEEP_FAILURES))
    session.add(LookupFailure(person_id=person_id, at=now))
    await session.flush()


async def _mismatch(session: AsyncSession, person_id: int, now: datetime) -> LookupResult:
    await record_failure(session, person_id, now)
    return LookupResult(
        Outcome.MISMATCH,
        locked_until=await locked_until(session, person_id, now),
        tries_left=await tries_left(session, person_id, now),
    )


async def _found(
    session: AsyncSession, application: Application, as_of: datetime | None = None
) -> LookupResult:
    return LookupResult(
        Outcome.FOUND,
        application=application,
        history=await history(session, application.id),
        as_of=as_of,
    )


async def lookup(
    session: AsyncSession,
    *,
    person_id: int,
    number: ApplicationNumber,
    birth_date: date,
    now: datetime,
    default_locale: str,
    registry: RegistryClient | None = None,
) -> LookupResult:
    until = await locked_until(session, person_id, now)
    if until is not None:
        return LookupResult(Outcome.LOCKED, locked_until=until, tries_left=0)

    if registry is not None:
        try:
            record = await registry.fetch(number, birth_date)
        except RegistryUnavailable:
            saved = await find_by_key(session, number.key)
            if saved is None or saved.birth_date != birth_date:
                # Not counted as a failure: the person may be right, we cannot tell.
                return LookupResult(Outcome.UNAVAILABLE)
            return await _found(session, saved, as_of=saved.checked_at)
        if record is None:
            return await _mismatch(session, person_id, now)
        await lock_applications(session)
        applied = await apply_record(
            session, record, now=now, source="registry", default_locale=default_locale
        )
        return await _found(session, applied.application)

    application = await find_by_key(session, number.key)
    if application is None or application.birth_date != birth_date:
        return await _mismatch(session, person_id, now)
    return await _found(session, application)


async def refresh(
    session: AsyncSession,
    application: Application,
    *,
    now: datetime,
    default_locale: str,
    registry: RegistryClient | None,
) -> LookupResult:
    """A followed application shown again: ask the registry when there is one."""
    if registry is None:
        return await _found(session, application)
    number = ApplicationNumber(key=application.number, printed=application.printed_number)
    try:
        record = await registry.fetch(number, application.birth_date)
    except RegistryUnavailable:
        return await _found(session, application, as_of=application.checked_at)
    if record is not None:
        await lock_applications(session)
        applied = await apply_record(
            session, record, now=now, source="registry", default_locale=default_locale
        )
        application = applied.application
    return await _found(session, application)
