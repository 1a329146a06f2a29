"""Staff announcements: audiences, the citizen's message, queueing, scheduling, progress.

The dialog (`dialogs/announcements.py`) and the CLI (`python -m bot broadcast`) both
use these functions; delivery itself is the outbox worker's job.
"""

from bot.services.broadcast.announcements import (
    AnnouncementError,
    Draft,
    cancel,
    create,
    queue_recipients,
    release,
)
from bot.services.broadcast.audience import Audience, AudienceError, Reach, reach
from bot.services.broadcast.message import citizen_reply
from bot.services.broadcast.progress import Counts, counts, eta_seconds, finish_if_done

__all__ = [
    "AnnouncementError",
    "Audience",
    "AudienceError",
    "Counts",
    "Draft",
    "Reach",
    "cancel",
    "citizen_reply",
    "counts",
    "create",
    "eta_seconds",
    "finish_if_done",
    "queue_recipients",
    "reach",
    "release",
]
