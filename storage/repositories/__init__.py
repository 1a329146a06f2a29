"""Repositories: intention-revealing queries over one session. They never commit."""

from storage.repositories.audit import AuditLog
from storage.repositories.dialog_states import DialogStates, StoredState
from storage.repositories.events import ProcessedEvents
from storage.repositories.people import People

__all__ = ["AuditLog", "DialogStates", "People", "ProcessedEvents", "StoredState"]
