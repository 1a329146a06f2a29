"""Long-lived things a dialog may need: settings, the clock, the loaded service data."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.resources import Resources
from bot.services.personal_data import PersonalData
from bot.settings import Settings


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    settings: Settings
    clock: Callable[[], datetime] = system_clock
    #: data loaded once at start (programmes, offices …) and the registry client
    resources: Resources = field(default_factory=Resources)
    #: what every feature keeps about a person ("My data", erasure), from the manifest
    personal_data: PersonalData = field(default_factory=PersonalData)

    def now(self) -> datetime:
        return self.clock()
