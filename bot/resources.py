"""What the bot reads once at start and then only looks at: the service data and its clients.

Built by the composition root (`bot.app.build_app`) from the data loaders the
features declare, then handed to every dialog through `Runtime.resources`.
Typed fields rather than a dictionary: a dialog that asks for the offices gets
an `OfficeCatalog`, and a misspelt name fails in mypy, not in front of a person.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from bot.services.booking.model import OfficeCatalog
from bot.services.cases.data import CasesData
from bot.services.eligibility.model import Eligibility
from bot.services.status.registry import RegistryClient


@dataclass(frozen=True, slots=True)
class Resources:
    #: offices, their services, oblasts and public holidays (bot/data/offices)
    offices: OfficeCatalog = field(default_factory=OfficeCatalog)
    #: programmes, their questions and rules (bot/data/eligibility); None when absent
    eligibility: Eligibility | None = None
    #: working hours and canned answers for staff cases (bot/data/cases)
    cases: CasesData | None = None
    #: the application registry's client when REGISTRY_URL is set: one per process, so
    #: its circuit breaker outlives one message
    registry: RegistryClient | None = None

    @staticmethod
    def of(held: object) -> Resources:
        """The resources a `Runtime` holds, typed (the engine holds them as `object`)."""
        if not isinstance(held, Resources):
            raise TypeError(f"the runtime holds no Resources but {type(held).__name__}")
        return held


#: the names a data loader may fill (a feature's loader is named after its field)
RESOURCE_NAMES = frozenset(item.name for item in fields(Resources))
