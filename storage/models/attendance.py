"""Who did not come: an office marks a past appointment as a no-show (`python -m bot no-show`).

A separate table, so booking's own states and rules stay as they are; it
cascades away with the appointment, and so with the person.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, UTCDateTime, utcnow


class NoShow(Base):
    __tablename__ = "no_shows"

    appointment_id: Mapped[int] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), primary_key=True
    )
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: who marked it: "cli" or a staff id
    marked_by: Mapped[str] = mapped_column(String(80), default="cli")
