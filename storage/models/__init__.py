"""All tables. Importing this package registers every model on `Base.metadata`."""

from storage.models.attendance import NoShow  # noqa: F401
from storage.models.base import Base, UTCDateTime, utcnow
from storage.models.booking import Appointment, SlotSeat, WaitlistEntry  # noqa: F401
from storage.models.broadcast import Announcement  # noqa: F401
from storage.models.cases import Case, CaseMessage  # noqa: F401
from storage.models.console import ConsoleLink, ConsoleSession  # noqa: F401
from storage.models.core import AuditEntry, DialogStateRow, Person, ProcessedEvent
from storage.models.delivery import OutboxMessage
from storage.models.status import Application, Follow, LookupFailure, StatusChange  # noqa: F401
from storage.models.usage import UsageEvent
from storage.models.viber import ViberReceipt  # noqa: F401

__all__ = [
    "AuditEntry",
    "Base",
    "DialogStateRow",
    "OutboxMessage",
    "Person",
    "ProcessedEvent",
    "UTCDateTime",
    "UsageEvent",
    "utcnow",
]
