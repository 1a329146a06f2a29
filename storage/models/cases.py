"""Cases: a person's question for a human specialist, its messages and the answer's rating.

Everything here is personal data: it cascades away with the person ("Delete my
data", retention). Only one staff member holds a case at a time, and the
database decides who: taking is one conditional UPDATE (see
bot/services/cases/service.py `take`), so two staff pressing "Take" at the same
moment cannot both win, on SQLite or PostgreSQL, in one process or several.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, UTCDateTime, utcnow

#: case states
OPEN = "open"  # waiting for a staff member to take it
TAKEN = "taken"  # a staff member holds it
CLOSED = "closed"


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (Index("ix_cases_state_created", "state", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: the short number the person and staff quote ("K7QX4P"); no personal data
    code: Mapped[str] = mapped_column(String(8), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    topic: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(12), default=OPEN)
    #: "telegram:<id>" as in STAFF_IDS, while a staff member holds the case
    assignee: Mapped[str | None] = mapped_column(String(80), default=None)
    #: a phone number the person chose to share, visible to staff only
    phone: Mapped[str | None] = mapped_column(String(32), default=None)
    #: what the person agreed to share: eligibility result, followed status, booking
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    close_reason: Mapped[str | None] = mapped_column(String(24), default=None)
    #: "citizen" or "staff"
    closed_by: Mapped[str | None] = mapped_column(String(16), default=None)
    #: 1–5, the answer to the one satisfaction question
    rating: Mapped[int | None] = mapped_column(Integer, default=None)
    #: the case's post in STAFF_CHAT_ID (Telegram message id), replies there answer it
    staff_post: Mapped[str | None] = mapped_column(String(32), default=None, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    first_answer_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CaseMessage(Base):
    """One message in a case: the person's question and additions, staff answers."""

    __tablename__ = "case_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    #: "citizen" or "staff"
    author: Mapped[str] = mapped_column(String(16))
    #: the staff member ("viber:<id>") for staff messages
    staff: Mapped[str | None] = mapped_column(String(80), default=None)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
