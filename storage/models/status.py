"""Application statuses: the applications staff import, their history, who follows them.

Application numbers and birth dates are personal data: they live here and in
the citizen's own chat, never in logs or button payloads (internal ids are used).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, UTCDateTime, utcnow


class Application(Base):
    """One application for assistance, as last known from an import or the registry."""

    __tablename__ = "applications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: letters and digits only, upper case: "VPO2026000123". What matching uses.
    number: Mapped[str] = mapped_column(String(32), unique=True)
    #: as printed for the citizen, dashes normalised: "VPO-2026-000123"
    printed_number: Mapped[str] = mapped_column(String(48))
    birth_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(24))
    #: when the status last changed, according to the source (CSV `updated_at`)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(Text, default="")
    #: "import" or "registry"
    source: Mapped[str] = mapped_column(String(16), default="import")
    #: when this copy was last confirmed by its source: the "as of" of a stale answer
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StatusChange(Base):
    """One row per status an application has had; its id names the notification."""

    __tablename__ = "application_status_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(24))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Follow(Base):
    """A person asked to be told when an application's status changes."""

    __tablename__ = "application_follows"
    __table_args__ = (UniqueConstraint("person_id", "application_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    application_id: Mapped[int] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LookupFailure(Base):
    """A failed status lookup (unknown number or wrong birth date), for the lockouts.

    Each failure is two rows that are not linked to each other: one keyed by a keyed hash
    (HMAC with `SECRET_KEY`) of the messenger identity, one by a keyed hash of the
    application number. Neither names a person nor an application without the key, so
    the rows outlive the person's erasure: deleting one's data buys no fresh guesses.
    """

    __tablename__ = "status_lookup_failures"
    __table_args__ = (Index("ix_status_lookup_failures_scope_key_at", "scope", "key", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: "who" (the messenger identity) or "number" (the application number)
    scope: Mapped[str] = mapped_column(String(8))
    #: hex HMAC-SHA256 of the identity or the number (bot.secret_key.keyed_hash)
    key: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
