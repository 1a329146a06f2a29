"""Staff announcements. The recipients are outbox rows carrying the announcement's id."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, UTCDateTime, utcnow


class Announcement(Base):
    """One announcement: who wrote it, in which languages, to whom, and how it went.

    ``state``: scheduled → sending → done, or cancelled from either. The counts
    are filled when delivery ends (live progress is counted from the outbox).
    """

    __tablename__ = "announcements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: "telegram:<id>", "viber:<id>", "terminal:<id>" or "cli" — as in STAFF_IDS
    author: Mapped[str] = mapped_column(String(80))
    #: the author's chat, for progress and the final report; gone if they erase their data
    author_person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), default=None
    )
    text_uk: Mapped[str] = mapped_column(Text, default="")
    text_en: Mapped[str] = mapped_column(Text, default="")
    audience: Mapped[str] = mapped_column(String(48), default="all")
    state: Mapped[str] = mapped_column(String(16), default="scheduled", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    sent: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    blocked: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    cancelled: Mapped[int] = mapped_column(Integer, default=0)
    #: the author's live progress message on their platform (see docs/announcements.md)
    progress_ref: Mapped[str | None] = mapped_column(String(64), default=None)
    progress_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
