"""The privacy notice: which version a person accepted, and when.

Bump `PRIVACY_VERSION` when the notice text changes materially: everyone who
accepted an older version sees the new one once, at their next message.
"""

from __future__ import annotations

from datetime import datetime

from storage.models import Person

PRIVACY_VERSION = 1
RETENTION_MONTHS = 12  # people inactive this long are erased (see docs/privacy.md)


def pending(person: Person) -> bool:
    return person.privacy_version is None or person.privacy_version < PRIVACY_VERSION


def first_time(person: Person) -> bool:
    return person.privacy_version is None


def accept(person: Person, at: datetime) -> None:
    person.privacy_version = PRIVACY_VERSION
    person.consent_at = at
