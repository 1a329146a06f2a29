"""The outbox: one row per message the bot starts itself, per recipient."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, UTCDateTime, utcnow


class OutboxMessage(Base):
    """A message waiting to be sent, being sent, or with its final outcome.

    `dedupe_key` is unique: whoever enqueues names the cause (for example
    ``status:<change id>:<person id>``), so the same cause can never queue a
    second message, even when the enqueuing code runs twice.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "state", "not_before"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(24))  # status, reminder, announcement …
    dedupe_key: Mapped[str] = mapped_column(String(128), unique=True)
    announcement_id: Mapped[int | None] = mapped_column(Integer, default=None, index=True)
    body: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # replies, already translated
    #: pending → sending → sent | blocked | failed | skipped | cancelled
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: timed work (a reminder) that is pointless later: the worker skips it as "expired"
    not_after: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    reason: Mapped[str] = mapped_column(String(64), default="")
    #: the platform's id of the sent message (Viber message token), matched to receipts
    platform_ref: Mapped[str | None] = mapped_column(String(24), default=None, index=True)
    #: committed just before the platform call, cleared with its outcome: a `sending` row
    #: left with it by a crash may have reached the person
    handed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    #: sent again after such a crash: the person may have it twice (the report says so)
    maybe_twice: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
