"""delivered / seen / failed callbacks: which events they are, and when they happened.

They are kept through the `Receipts` port (bot/ports.py; bot/services/receipts.py).
"""

from __future__ import annotations

from datetime import UTC, datetime

EVENTS = ("delivered", "seen", "failed")


def callback_time(timestamp_ms: object, fallback: datetime) -> datetime:
    try:
        return datetime.fromtimestamp(int(timestamp_ms) / 1000, tz=UTC)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError, OSError):
        return fallback
