"""Private status lookup: number + birth date, with lockouts against guessing.

An unknown number and a wrong birth date give the same answer, so nobody can
learn whether a number exists. Two limits, each keyed by an HMAC (`SECRET_KEY`)
so that they survive the person's erasure without naming anyone:

- per messenger identity: five failed tries within an hour pause checking until
  the oldest of those five is an hour old;
- per application number, across everyone (several accounts, both messengers):
  ten failed tries within a day pause that number until the oldest is a day old.

A success does not reset the count: otherwise checking one's own application
between guesses would defeat the lockout.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.secret_key import keyed_hash
from bot.services.status.changes import apply_record, find_by_key, lock_applications
from bot.services.status.follows import history
from bot.services.status.numbers import ApplicationNumber
from bot.services.status.registry import RegistryClient, RegistryUnavailable
from bot.settings import Settings
from storage.models.status import Application, LookupFailure, StatusChange

MAX_FAILURES = 5
WINDOW = timedelta(hours=1)
MAX_NUMBER_FAILURES = 10
NUMBER_WINDOW = timedelta(days=1)
KEEP_FAILURES = max(WINDOW, NUMBER_WINDOW)

WHO = "who"
NUMBER = "number"


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


@dataclass(frozen=True)
class Guesser:
    """Who is trying, as keyed hashes: never the messenger id or the number itself."""

    who: str

    @classmethod
    def of(cls, settings: Settings, platform: str, user_id: str) -> Guesser:
        return cls(keyed_hash(settings, "status-lookup:who", f"{platform}:{user_id}"))


def number_key(settings: Settings, number: ApplicationNumber) -> str:
    return keyed_hash(settings, "status-lookup:number", number.key)


async def _paused_until(
    session: AsyncSession, scope: str, key: str, now: datetime, limit: int, window: timedelta
) -> datetime | None:
    result = await session.execute(
        select(LookupFailure.at)
        .where(LookupFailure.scope == scope, LookupFailure.key == key)
        .where(LookupFailure.at > now - window)
        .order_by(LookupFailure.at.desc())
        .limit(limit)
    )
    recent = result.scalars().all()
    if len(recent) < limit:
        return None
    return recent[-1] + window


async def locked_until(session: AsyncSession, guesser: Guesser, now: datetime) -> datetime | None:
    """When this person may try again, or None if they may now."""
    return await _paused_until(session, WHO, guesser.who, now, MAX_FAILURES, WINDOW)


async def number_locked_until(session: AsyncSession, key: str, now: datetime) -> datetime | None:
    """When anybody may try this application number again, or None if they may now."""
    return await _paused_until(session, NUMBER, key, now, MAX_NUMBER_FAILURES, NUMBER_WINDOW)


async def tries_left(session: AsyncSession, guesser: Guesser, now: datetime) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(LookupFailure)
        .where(LookupFailure.scope == WHO, LookupFailure.key == guesser.who)
        .where(LookupFailure.at > now - WINDOW)
    )
    return max(0, MAX_FAILURES - int(count or 0))


async def record_failure(
    session: AsyncSession, guesser: Guesser, number: str, now: datetime
) -> None:
    await session.execute(delete(LookupFailure).where(LookupFailure.at < now - KEEP_FAILURES))
    session.add(LookupFailure(scope=WHO, key=guesser.who, at=now))
    session.add(LookupFailure(scope=NUMBER, key=number, at=now))
    await session.flush()


async def _mismatch(
    session: AsyncSession, guesser: Guesser, number: str, now: datetime
) -> LookupResult:
    await record_failure(session, guesser, number, now)
    until = [
        t
        for t in (
            await locked_until(session, guesser, now),
            await number_locked_until(session, number, now),
        )
        if t is not None
    ]
    return LookupResult(
        Outcome.MISMATCH,
        locked_until=max(until) if until else None,
        tries_left=await tries_left(session, guesser, now),
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
    guesser: Guesser,
    number: ApplicationNumber,
    number_hash: str,
    birth_date: date,
    now: datetime,
    default_locale: str,
    registry: RegistryClient | None = None,
) -> LookupResult:
    """`number_hash` is `number_key(settings, number)`: the number's lockout key."""
    until = await locked_until(session, guesser, now) or await number_locked_until(
        session, number_hash, now
    )
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
            return await _mismatch(session, guesser, number_hash, now)
        await lock_applications(session)
        applied = await apply_record(
            session, record, now=now, source="registry", default_locale=default_locale
        )
        return await _found(session, applied.application)

    application = await find_by_key(session, number.key)
    if application is None or application.birth_date != birth_date:
        return await _mismatch(session, guesser, number_hash, now)
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
