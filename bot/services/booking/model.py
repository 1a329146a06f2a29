"""Offices, services, oblasts and holidays as read from DATA_DIR/offices (validated)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, time
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ID_PATTERN = r"^[a-z0-9][a-z0-9-]{1,23}$"  # short: ids travel inside 40-byte button payloads
KATOTTG_OBLAST = r"^UA\d{17}$"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(Strict):
    """A text in both languages; both are required."""

    uk: Annotated[str, Field(min_length=1)]
    en: Annotated[str, Field(min_length=1)]

    def in_(self, language: str) -> str:
        return self.uk if language == "uk" else self.en


class Interval(Strict):
    start: time
    end: time

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Any:
        if isinstance(value, str):
            match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})\s*", value)
            if not match:
                raise ValueError(f"write a time range as HH:MM-HH:MM, not {value!r}")
            h1, m1, h2, m2 = (int(g) for g in match.groups())
            if not (h1 < 24 and h2 < 24 and m1 < 60 and m2 < 60):
                raise ValueError(f"no such time in {value!r}")
            return {"start": time(h1, m1), "end": time(h2, m2)}
        return value

    @model_validator(mode="after")
    def _ordered(self) -> Interval:
        if self.end <= self.start:
            raise ValueError(f"the range ends before it starts: {self.label()}")
        return self

    def label(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M}"


class DaySchedule(Strict):
    """Opening hours of one weekday; breaks are times inside them when nobody is seen."""

    hours: Interval
    breaks: list[Interval] = []

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"hours": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _breaks_inside(self) -> DaySchedule:
        previous: Interval | None = None
        for item in sorted(self.breaks, key=lambda b: b.start):
            if item.start < self.hours.start or item.end > self.hours.end:
                raise ValueError(f"break {item.label()} is outside the hours {self.hours.label()}")
            if previous is not None and item.start < previous.end:
                raise ValueError(f"breaks {previous.label()} and {item.label()} overlap")
            previous = item
        return self

    def working_periods(self) -> list[tuple[time, time]]:
        """The hours with the breaks cut out."""
        periods: list[tuple[time, time]] = []
        cursor = self.hours.start
        for item in sorted(self.breaks, key=lambda b: b.start):
            if item.start > cursor:
                periods.append((cursor, item.start))
            cursor = max(cursor, item.end)
        if cursor < self.hours.end:
            periods.append((cursor, self.hours.end))
        return periods


class ClosedDays(Strict):
    """A day or a run of days the office is closed (renovation, staff training …)."""

    start: date
    end: date
    note: Text | None = None

    @model_validator(mode="before")
    @classmethod
    def _single(cls, value: Any) -> Any:
        if isinstance(value, date):
            return {"start": value, "end": value}
        if isinstance(value, dict) and "date" in value:
            value = dict(value)
            day = value.pop("date")
            value.setdefault("start", day)
            value.setdefault("end", day)
        if isinstance(value, dict) and "from" in value:
            value = dict(value)
            value["start"] = value.pop("from")
            value["end"] = value.pop("to", value["start"])
        return value

    @model_validator(mode="after")
    def _ordered(self) -> ClosedDays:
        if self.end < self.start:
            raise ValueError("the closure ends before it starts")
        return self

    def covers(self, day: date) -> bool:
        return self.start <= day <= self.end


class Coordinates(Strict):
    lat: Annotated[float, Field(ge=44.0, le=53.0)]  # Ukraine's latitude span
    lon: Annotated[float, Field(ge=22.0, le=41.0)]


class OfficeKind(StrEnum):
    CNAP = "cnap"
    SOCIAL = "social"
    PFU = "pfu"


class Office(Strict):
    id: Annotated[str, Field(pattern=ID_PATTERN)]
    kind: OfficeKind
    #: some details (address, phone, hours) are invented for the demo
    demo: bool = False
    name: Text
    address: Text
    oblast: Annotated[str, Field(pattern=KATOTTG_OBLAST)]
    hromada: Text
    location: Coordinates
    phone: Annotated[str, Field(min_length=3, max_length=40)]
    services: Annotated[list[str], Field(min_length=1)]
    slot_minutes: Annotated[int, Field(ge=5, le=240)]
    seats: Annotated[int, Field(ge=1, le=50)]
    schedule: dict[str, DaySchedule]
    closed: list[ClosedDays] = []
    observe_holidays: bool = True

    @field_validator("schedule")
    @classmethod
    def _weekdays(cls, value: dict[str, DaySchedule]) -> dict[str, DaySchedule]:
        unknown = [key for key in value if key not in WEEKDAYS]
        if unknown:
            raise ValueError(f"unknown weekday {unknown[0]!r}; use {', '.join(WEEKDAYS)}")
        if not value:
            raise ValueError("the office is never open")
        return value

    @model_validator(mode="after")
    def _slots_fit(self) -> Office:
        for weekday, day in self.schedule.items():
            for start, end in day.working_periods():
                minutes = (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)
                if minutes >= self.slot_minutes:
                    break
            else:
                raise ValueError(f"{weekday}: no {self.slot_minutes}-minute slot fits the hours")
        return self

    def day(self, day: date) -> DaySchedule | None:
        return self.schedule.get(WEEKDAYS[day.weekday()])

    def closure(self, day: date) -> ClosedDays | None:
        return next((c for c in self.closed if c.covers(day)), None)


class Service(Strict):
    id: Annotated[str, Field(pattern=ID_PATTERN)]
    name: Text
    #: what to bring, one item per line
    bring: Text


class Oblast(Strict):
    code: Annotated[str, Field(pattern=KATOTTG_OBLAST)]
    name: Text


class Holiday(Strict):
    date: date
    name: Text


@dataclass(frozen=True)
class OfficeCatalog:
    """Everything the booking feature reads from DATA_DIR/offices."""

    offices: dict[str, Office] = field(default_factory=dict)
    services: dict[str, Service] = field(default_factory=dict)
    oblasts: dict[str, Oblast] = field(default_factory=dict)
    holidays: dict[date, Holiday] = field(default_factory=dict)

    def office(self, office_id: str) -> Office | None:
        return self.offices.get(office_id)

    def service(self, service_id: str) -> Service | None:
        return self.services.get(service_id)

    def offering(self, service_id: str | None) -> list[Office]:
        return [o for o in self.offices.values() if service_id is None or service_id in o.services]

    def oblasts_with_offices(self, service_id: str | None = None) -> list[Oblast]:
        codes = {office.oblast for office in self.offering(service_id)}
        return [oblast for code, oblast in self.oblasts.items() if code in codes]

    def is_holiday(self, office: Office, day: date) -> bool:
        return office.observe_holidays and day in self.holidays
