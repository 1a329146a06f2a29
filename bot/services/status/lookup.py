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
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.selectable import ScalarSelect

from bot.secret_key import keyed_hash
from bot.services.status import follows
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


def _paused_since(scope: str, limit: int) -> ScalarSelect[datetime]:
    """The `limit`-th newest failure of `scope`'s key since `:{scope}_since`, if there is one:
    checking is paused until it is a window old. A scalar subquery, built once."""
    return (
        select(LookupFailure.at)
        .where(
            LookupFailure.scope == scope,
            LookupFailure.key == bindparam(f"{scope}_key"),
            LookupFailure.at > bindparam(f"{scope}_since"),
        )
        .order_by(LookupFailure.at.desc())
        .offset(limit - 1)
        .limit(1)
        .scalar_subquery()
    )


_WHO_PAUSED = _paused_since(WHO, MAX_FAILURES)
_NUMBER_PAUSED = _paused_since(NUMBER, MAX_NUMBER_FAILURES)
_WHO_FAILURES: ScalarSelect[int] = (
    select(func.count())
    .select_from(LookupFailure)
    .where(
        LookupFailure.scope == WHO,
        LookupFailure.key == bindparam(f"{WHO}_key"),
        LookupFailure.at > bindparam(f"{WHO}_since"),
    )
    .scalar_subquery()
)
_LOCKED = select(_WHO_PAUSED)
_NUMBER_LOCKED = select(_NUMBER_PAUSED)
_BOTH_LOCKED = select(_WHO_PAUSED, _NUMBER_PAUSED)
_AFTER_FAILURE = select(_WHO_PAUSED, _NUMBER_PAUSED, _WHO_FAILURES)
_FOLLOWS_AND_LOCKED = select(follows.COUNT, _WHO_PAUSED)


def _who(guesser: Guesser, now: datetime) -> dict[str, Any]:
    return {f"{WHO}_key": guesser.who, f"{WHO}_since": now - WINDOW}


def _number(key: str, now: datetime) -> dict[str, Any]:
    return {f"{NUMBER}_key": key, f"{NUMBER}_since": now - NUMBER_WINDOW}


def _until(paused_since: datetime | None, window: timedelta) -> datetime | None:
    return None if paused_since is None else paused_since + window


async def locked_until(session: AsyncSession, guesser: Guesser, now: datetime) -> datetime | None:
    """When this person may try again, or None if they may now."""
    return _until(await session.scalar(_LOCKED, _who(guesser, now)), WINDOW)


async def number_locked_until(session: AsyncSession, key: str, now: datetime) -> datetime | None:
    """When anybody may try this application number again, or None if they may now."""
    return _until(await session.scalar(_NUMBER_LOCKED, _number(key, now)), NUMBER_WINDOW)


async def both_locked_until(
    session: AsyncSession, guesser: Guesser, key: str, now: datetime
) -> tuple[datetime | None, datetime | None]:
    """`locked_until` and `number_locked_until` in one statement."""
    who, number = (
        await session.execute(_BOTH_LOCKED, _who(guesser, now) | _number(key, now))
    ).one()
    return _until(who, WINDOW), _until(number, NUMBER_WINDOW)


async def follows_and_locked_until(
    session: AsyncSession, guesser: Guesser, person_id: int, now: datetime
) -> tuple[int, datetime | None]:
    """The status dialog's first screen in one statement: how many applications the
    person follows (`follows.count_follows`) and `locked_until`."""
    count, who = (
        await session.execute(_FOLLOWS_AND_LOCKED, {"person_id": person_id} | _who(guesser, now))
    ).one()
    return int(count or 0), _until(who, WINDOW)


async def tries_left(session: AsyncSession, guesser: Guesser, now: datetime) -> int:
    count = await session.scalar(select(_WHO_FAILURES), _who(guesser, now))
    return max(0, MAX_FAILURES - int(count or 0))


_DROP_OLD = (
    delete(LookupFailure)
    .where(LookupFailure.at < bindparam("before"))
    .execution_options(synchronize_session=False)
)


async def record_failure(
    session: AsyncSession, guesser: Guesser, number: str, now: datetime
) -> None:
    await session.execute(_DROP_OLD, {"before": now - KEEP_FAILURES})
    # One statement for both rows; nothing here needs them as objects.
    await session.execute(
        insert(LookupFailure),
        [
            {"scope": WHO, "key": guesser.who, "at": now},
            {"scope": NUMBER, "key": number, "at": now},
        ],
    )


async def _mismatch(
    session: AsyncSession, guesser: Guesser, number: str, now: datetime
) -> LookupResult:
    await record_failure(session, guesser, number, now)
    who, number_paused, failures = (
        await session.execute(_AFTER_FAILURE, _who(guesser, now) | _number(number, now))
    ).one()
    until = [
        t for t in (_until(who, WINDOW), _until(number_paused, NUMBER_WINDOW)) if t is not None
    ]
    return LookupResult(
        Outcome.MISMATCH,
        locked_until=max(until) if until else None,
        tries_left=max(0, MAX_FAILURES - int(failures or 0)),
    )


async def _found(
    session: AsyncSession,
    application: Application,
    as_of: datetime | None = None,
    *,
    with_history: bool = True,
) -> LookupResult:
    return LookupResult(
        Outcome.FOUND,
        application=application,
        history=await history(session, application.id) if with_history else (),
        as_of=as_of,
    )


_SAVED_AND_LOCKED = select(Application, _WHO_PAUSED, _NUMBER_PAUSED).where(
    Application.number == bindparam("number")
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
    with_history: bool = True,
) -> LookupResult:
    """`number_hash` is `number_key(settings, number)`: the number's lockout key.

    `with_history=False` leaves `history` empty, for a caller that shows it later.
    """
    if registry is not None:
        until = _first(*await both_locked_until(session, guesser, number_hash, now))
        if until is not None:
            return LookupResult(Outcome.LOCKED, locked_until=until, tries_left=0)
        try:
            record = await registry.fetch(number, birth_date)
        except RegistryUnavailable:
            saved = await find_by_key(session, number.key)
            if saved is None or saved.birth_date != birth_date:
                # Not counted as a failure: the person may be right, we cannot tell.
                return LookupResult(Outcome.UNAVAILABLE)
            return await _found(session, saved, as_of=saved.checked_at, with_history=with_history)
        if record is None:
            return await _mismatch(session, guesser, number_hash, now)
        await lock_applications(session)
        applied = await apply_record(
            session, record, now=now, source="registry", default_locale=default_locale
        )
        return await _found(session, applied.application, with_history=with_history)

    # The saved application and both pauses in one statement; the pauses alone when
    # there is no such application.
    row = (
        await session.execute(
            _SAVED_AND_LOCKED,
            {"number": number.key} | _who(guesser, now) | _number(number_hash, now),
        )
    ).one_or_none()
    if row is None:
        application = None
        until = _first(*await both_locked_until(session, guesser, number_hash, now))
    else:
        application = row[0]
        until = _first(_until(row[1], WINDOW), _until(row[2], NUMBER_WINDOW))
    if until is not None:
        return LookupResult(Outcome.LOCKED, locked_until=until, tries_left=0)
    if application is None or application.birth_date != birth_date:
        return await _mismatch(session, guesser, number_hash, now)
    return await _found(session, application, with_history=with_history)


def _first(who: datetime | None, number: datetime | None) -> datetime | None:
    """The pause a lookup reports: the person's own first, as it always was."""
    return who or number


async def refresh(
    session: AsyncSession,
    application: Application,
    *,
    now: datetime,
    default_locale: str,
    registry: RegistryClient | None,
    with_history: bool = True,
) -> LookupResult:
    """A followed application shown again: ask the registry when there is one."""
    if registry is None:
        return await _found(session, application, with_history=with_history)
    number = ApplicationNumber(key=application.number, printed=application.printed_number)
    try:
        record = await registry.fetch(number, application.birth_date)
    except RegistryUnavailable:
        return await _found(
            session, application, as_of=application.checked_at, with_history=with_history
        )
    if record is not None:
        await lock_applications(session)
        applied = await apply_record(
            session, record, now=now, source="registry", default_locale=default_locale
        )
        application = applied.application
    return await _found(session, application, with_history=with_history)
