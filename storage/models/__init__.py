"""All tables. Importing this package registers every model on `Base.metadata`."""

from storage.models.base import Base, UTCDateTime, utcnow
from storage.models.core import AuditEntry, DialogStateRow, Person, ProcessedEvent
from storage.models.delivery import OutboxMessage

__all__ = [
    "AuditEntry",
    "Base",
    "DialogStateRow",
    "OutboxMessage",
    "Person",
    "ProcessedEvent",
    "UTCDateTime",
    "utcnow",
]
