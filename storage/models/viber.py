"""Viber delivery receipts: delivered / seen / failed callbacks, by message token.

No personal data: the receiver is kept only as a keyed hash, enough to count each
person once per message (a broadcast shares one token among all its receivers) and
to drop a re-delivered callback, not enough to tell who it was.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, UTCDateTime, utcnow


class ViberReceipt(Base):
    __tablename__ = "viber_receipts"
    __table_args__ = (UniqueConstraint("message_token", "event", "receiver_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Viber's 64-bit message token, as text (it may not fit a signed BIGINT)
    message_token: Mapped[str] = mapped_column(String(24), index=True)
    event: Mapped[str] = mapped_column(String(16))  # delivered | seen | failed
    receiver_key: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(64), default="")  # Viber's "desc" on failed
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
