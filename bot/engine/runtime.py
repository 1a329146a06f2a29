"""Long-lived things a dialog may need: settings, the clock, the loaded service data."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.services.personal_data import PersonalData
from bot.settings import Settings


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    settings: Settings
    clock: Callable[[], datetime] = system_clock
    #: data loaded once at start (programmes, offices …) and the registry client: a
    #: `bot.resources.Resources`, read as `Resources.of(runtime.resources)`. The engine
    #: does not name its type: it holds features' data, and features know the engine
    resources: object = None
    #: what every feature keeps about a person ("My data", erasure), from the manifest
    personal_data: PersonalData = field(default_factory=PersonalData)

    def now(self) -> datetime:
        return self.clock()
