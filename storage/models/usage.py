"""Counted events for statistics: what happened, never who (no person id, no text)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, UTCDateTime, utcnow


class UsageEvent(Base):
    """One counted moment: ``started``/``completed`` a dialog, an eligibility result …

    ``metric`` names what is counted, ``key`` which one (a dialog, a programme id).
    Nothing here links to a person, so it stays when they erase their data.
    """

    __tablename__ = "usage_events"
    __table_args__ = (Index("ix_usage_events_metric_at", "metric", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    metric: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(48))
