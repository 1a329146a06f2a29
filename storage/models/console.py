"""Staff web console: one-time sign-in links and sessions (bot/console/auth.py).

Neither table holds a usable secret: links and sessions are stored as keyed
hashes of their tokens, so a database dump signs nobody in.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, UTCDateTime, utcnow


class ConsoleLink(Base):
    """A one-time sign-in link: valid until `expires_at`, spent when `used_at` is set."""

    __tablename__ = "console_links"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: "telegram:<id>" etc., as in STAFF_IDS
    staff_id: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class ConsoleSession(Base):
    """A signed-in browser. Ends on sign-out, after idle time, or when staff rights go."""

    __tablename__ = "console_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[str] = mapped_column(String(80), index=True)
    #: the form token every POST must carry (CSRF)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
