"""Sign-in without passwords: one-time links, sessions, and the rate limit on both.

A link is ``<random>.<expiry>.<signature>``; the signature (an HMAC with
SECRET_KEY) lets a forged or expired link be refused without touching the
database, and the database keeps only a keyed hash of the whole token, spent on
first use. A session cookie is a random token, stored the same way. Staff
rights are checked on every request, so removing someone from STAFF_IDS ends
their sessions at the next request they make.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.secret_key import keyed_hash
from bot.settings import Settings
from storage.models.console import ConsoleLink, ConsoleSession
from storage.repositories import AuditLog

LINK_LIFETIME = timedelta(minutes=10)
#: last_seen_at is written at most this often (each request would be a write otherwise)
TOUCH_EVERY = timedelta(minutes=1)
SIGNIN_ATTEMPTS = 10  # per address …
SIGNIN_WINDOW = 600.0  # … per ten minutes
#: spent links and ended sessions are kept this long (for the record), then deleted
KEEP = timedelta(days=1)


class NotStaff(Exception):
    """The person is not in STAFF_IDS: no link, no session."""


def _signature(settings: Settings, body: str) -> str:
    return keyed_hash(settings, "console-link-signature", body)[:32]


def _token_hash(settings: Settings, purpose: str, token: str) -> str:
    return keyed_hash(settings, purpose, token)


def is_staff(settings: Settings, staff_id: str) -> bool:
    return staff_id in settings.staff_ids


async def issue_link(
    session: AsyncSession, settings: Settings, staff_id: str, now: datetime, *, via: str
) -> str:
    """A new one-time token for `staff_id`; raises NotStaff for anyone else."""
    if not is_staff(settings, staff_id):
        raise NotStaff(staff_id)
    await session.execute(delete(ConsoleLink).where(ConsoleLink.expires_at < now - KEEP))
    expires = now + LINK_LIFETIME
    body = f"{secrets.token_urlsafe(24)}.{int(expires.timestamp()):x}"
    token = f"{body}.{_signature(settings, body)}"
    session.add(
        ConsoleLink(
            token_hash=_token_hash(settings, "console-link", token),
            staff_id=staff_id,
            created_at=now,
            expires_at=expires,
        )
    )
    await AuditLog(session).record(staff_id, "console.link_issued", via=via)
    return token


def link_url(settings: Settings, token: str) -> str:
    base = settings.public_base_url or f"http://{settings.http_host}:{settings.http_port}"
    return f"{base}{settings.console_path}/signin/{token}"


def well_formed(settings: Settings, token: str, now: datetime) -> bool:
    """Signed by us and not expired: checked before any database work."""
    parts = token.split(".")
    if len(parts) != 3 or len(token) > 128:
        return False
    body, signature = f"{parts[0]}.{parts[1]}", parts[2]
    if not hmac.compare_digest(signature, _signature(settings, body)):
        return False
    try:
        return int(parts[1], 16) > now.timestamp()
    except ValueError:
        return False


async def redeem_link(
    session: AsyncSession, settings: Settings, token: str, now: datetime
) -> str | None:
    """The staff id the link was issued to, spending it; None if not valid (any reason)."""
    if not well_formed(settings, token, now):
        return None
    digest = _token_hash(settings, "console-link", token)
    link = await session.get(ConsoleLink, digest)
    if link is None:
        return None
    spent = await session.execute(
        update(ConsoleLink)
        .where(
            ConsoleLink.token_hash == digest,
            ConsoleLink.used_at.is_(None),
            ConsoleLink.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if not spent.rowcount:  # type: ignore[attr-defined]
        return None  # used already (or raced by a second click) or expired
    if not is_staff(settings, link.staff_id):
        return None
    return link.staff_id


@dataclass(frozen=True, slots=True)
class Started:
    cookie: str
    csrf: str


async def start_session(
    session: AsyncSession, settings: Settings, staff_id: str, now: datetime
) -> Started:
    idle = timedelta(minutes=settings.console_session_minutes)
    await session.execute(
        delete(ConsoleSession).where(
            or_(
                ConsoleSession.ended_at < now - KEEP,
                ConsoleSession.last_seen_at < now - idle - KEEP,
            )
        )
    )
    cookie = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    session.add(
        ConsoleSession(
            token_hash=_token_hash(settings, "console-session", cookie),
            staff_id=staff_id,
            csrf=csrf,
            created_at=now,
            last_seen_at=now,
        )
    )
    await AuditLog(session).record(staff_id, "console.signed_in")
    return Started(cookie, csrf)


async def load_session(
    session: AsyncSession, settings: Settings, cookie: str, now: datetime
) -> ConsoleSession | None:
    """The live session behind a cookie, touched; None when absent, ended, idle or not staff."""
    if not cookie or len(cookie) > 128:
        return None
    row = await session.get(ConsoleSession, _token_hash(settings, "console-session", cookie))
    if row is None or row.ended_at is not None:
        return None
    idle = timedelta(minutes=settings.console_session_minutes)
    if not is_staff(settings, row.staff_id):
        await _end(session, row, now, "console.session_revoked")
        return None
    if row.last_seen_at + idle <= now:
        await _end(session, row, now, "console.session_expired")
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
    return row


async def _end(session: AsyncSession, row: ConsoleSession, now: datetime, action: str) -> None:
    row.ended_at = now
    await AuditLog(session).record(row.staff_id, action)


async def end_session(session: AsyncSession, row: ConsoleSession, now: datetime) -> None:
    await _end(session, row, now, "console.signed_out")


async def end_sessions_of_former_staff(
    session: AsyncSession, settings: Settings, now: datetime
) -> int:
    """End every open session whose person is no longer staff (on start, for the record)."""
    rows = await session.scalars(select(ConsoleSession).where(ConsoleSession.ended_at.is_(None)))
    ended = 0
    for row in rows:
        if not is_staff(settings, row.staff_id):
            await _end(session, row, now, "console.session_revoked")
            ended += 1
    return ended


class RateLimit:
    """At most `attempts` per `window` seconds per key (an address), in this process."""

    def __init__(
        self,
        attempts: int = SIGNIN_ATTEMPTS,
        window: float = SIGNIN_WINDOW,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.attempts, self.window, self.clock = attempts, window, clock
        self._seen: dict[str, deque[float]] = {}

    def allow(self, key: str) -> bool:
        now = self.clock()
        if len(self._seen) > 10_000:  # a flood of addresses must not grow memory for ever
            self._seen = {k: q for k, q in self._seen.items() if q and q[-1] > now - self.window}
        seen = self._seen.setdefault(key, deque())
        while seen and seen[0] <= now - self.window:
            seen.popleft()
        if len(seen) >= self.attempts:
            return False
        seen.append(now)
        return True
