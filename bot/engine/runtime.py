"""Long-lived things a dialog may need: settings, the clock, loaded data, hooks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.engine.dialog import DialogRegistry
from bot.settings import Settings


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    settings: Settings
    dialogs: DialogRegistry
    clock: Callable[[], datetime] = system_clock
    #: data loaded once at start (programmes, offices …), keyed by feature
    resources: dict[str, Any] = field(default_factory=dict)

    def now(self) -> datetime:
        return self.clock()
