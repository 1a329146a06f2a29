"""Appointments at offices, the seats they occupy, and waiting lists.

No double booking is the database's job: every taken place is one row in
`slot_seats`, whose primary key is (office, start, seat number). Taking a
place is an INSERT … ON CONFLICT DO NOTHING over the seat numbers; whoever
loses the race inserts nothing. That holds on SQLite and on PostgreSQL,
whatever the number of processes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, UTCDateTime, utcnow

#: appointment states
HELD = "held"  # a place kept for the person for a few minutes while they confirm
BOOKED = "booked"
CANCELLED = "cancelled"
MOVED = "moved"  # replaced by another appointment (rescheduled)
EXPIRED = "expired"  # a hold nobody confirmed
RELEASED = "released"  # a waiting-list offer the person turned down

#: waiting-list states
WAITING = "waiting"
OFFERED = "offered"
TAKEN = "taken"
DECLINED = "declined"
LAPSED = "lapsed"
LEFT = "left"


class Appointment(Base):
    __tablename__ = "appointments"
    __table_args__ = (
        Index("ix_appointments_office_start", "office_id", "starts_at"),
        # One booked appointment per person per service, enforced by the database.
        Index(
            "uq_appointments_booked_service",
            "person_id",
            "service_id",
            unique=True,
            sqlite_where=text("state = 'booked'"),
            postgresql_where=text("state = 'booked'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: what the person shows at the office; short, unique, no personal data
    code: Mapped[str] = mapped_column(String(8), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    office_id: Mapped[str] = mapped_column(String(24))
    service_id: Mapped[str] = mapped_column(String(24))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(12), index=True)
    hold_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    #: the appointment this one moves (set while rescheduling)
    replaces_id: Mapped[int | None] = mapped_column(Integer, default=None)
    #: the waiting-list entry this hold was offered to
    waitlist_id: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SlotSeat(Base):
    """One taken place: a seat of one slot, held (until `held_until`) or booked (NULL)."""

    __tablename__ = "slot_seats"

    office_id: Mapped[str] = mapped_column(String(24), primary_key=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    seat_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: NULL for a place staff keep free of bookings (walk-in only)
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), default=None, index=True
    )
    held_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class WaitlistEntry(Base):
    """A person waiting for a freed place at an office, first come, first served."""

    __tablename__ = "waitlist"
    __table_args__ = (
        Index("ix_waitlist_queue", "office_id", "state", "created_at"),
        Index(
            "uq_waitlist_open",
            "person_id",
            "office_id",
            "service_id",
            unique=True,
            sqlite_where=text("state IN ('waiting', 'offered')"),
            postgresql_where=text("state IN ('waiting', 'offered')"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    office_id: Mapped[str] = mapped_column(String(24))
    service_id: Mapped[str] = mapped_column(String(24))
    state: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: the held appointment offered to this person, while the offer stands
    offer_appointment_id: Mapped[int | None] = mapped_column(Integer, default=None)
