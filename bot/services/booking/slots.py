"""Which appointment times an office offers: pure functions over the office data.

Slots are local wall-clock times in Europe/Kyiv (an office opens at 09:00
whatever the season) and are returned as UTC instants, which is how they are
stored. On the night the clocks go forward (last Sunday of March, 03:00 →
04:00) a wall time that does not exist is skipped; on the night they go back
(last Sunday of October, 04:00 → 03:00) a repeated wall time is offered once,
at its first occurrence.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import islice
from zoneinfo import ZoneInfo

from bot.services.booking.model import Office, OfficeCatalog

KYIV = ZoneInfo("Europe/Kyiv")


@dataclass(frozen=True, order=True, slots=True)
class Slot:
    starts_at: datetime  # UTC
    ends_at: datetime  # UTC

    def local_start(self, tz: ZoneInfo = KYIV) -> datetime:
        return self.starts_at.astimezone(tz)


def local_instant(day: date, wall: time, tz: ZoneInfo = KYIV) -> datetime | None:
    """`wall` on `day` as a UTC instant; None when that wall time does not exist (DST gap)."""
    local = datetime.combine(day, wall, tzinfo=tz).replace(fold=0)
    instant = local.astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) != local.replace(tzinfo=None):
        return None
    return instant


def is_open(catalog: OfficeCatalog, office: Office, day: date) -> bool:
    if office.closure(day) is not None or catalog.is_holiday(office, day):
        return False
    return office.day(day) is not None


#: (catalog, office, day) → that day's slots; see `day_slots`
_DAYS: dict[tuple[int, int, date, str], tuple[OfficeCatalog, Office, tuple[Slot, ...]]] = {}
#: a bound, not a working set: 14 days × the offices people look at fit several times
#: over (an entry is a few kilobytes: a bound keeps days long past from piling up)
_DAYS_MAX = 1024


def day_slots(
    catalog: OfficeCatalog, office: Office, day: date, tz: ZoneInfo = KYIV
) -> list[Slot]:
    """Every slot of `day` (a local date), before looking at who has booked what."""
    return list(_day_slots(catalog, office, day, tz))


def _day_slots(
    catalog: OfficeCatalog, office: Office, day: date, tz: ZoneInfo
) -> tuple[Slot, ...]:
    # The catalog is read from the data files once and never changed, so a day's
    # slots are worked out once: every booking screen asks for 14 days of them.
    # Keyed by identity (catalogs and offices hold dicts, so they have no hash);
    # the entry keeps both alive, so an id cannot be reused while it is cached.
    key = (id(catalog), id(office), day, tz.key)
    cached = _DAYS.get(key)
    if cached is not None and cached[0] is catalog and cached[1] is office:
        return cached[2]
    slots = _compute_day_slots(catalog, office, day, tz)
    if len(_DAYS) >= _DAYS_MAX:
        # The older half goes: entries are in the order they were made, past days first.
        for old in list(islice(_DAYS, _DAYS_MAX // 2)):
            del _DAYS[old]
    _DAYS[key] = (catalog, office, slots)
    return slots


def _compute_day_slots(
    catalog: OfficeCatalog, office: Office, day: date, tz: ZoneInfo
) -> tuple[Slot, ...]:
    if not is_open(catalog, office, day):
        return ()
    schedule = office.day(day)
    assert schedule is not None
    length = timedelta(minutes=office.slot_minutes)
    # Most days have one UTC offset from midnight to midnight: a wall time is then
    # that offset away. Only the two nights the clocks change need each time checked.
    offset = datetime.combine(day, time(), tzinfo=tz).utcoffset()
    steady = offset == datetime.combine(day + timedelta(days=1), time(), tzinfo=tz).utcoffset()
    assert offset is not None
    slots: list[Slot] = []
    for start, end in schedule.working_periods():
        # Walk the wall clock, not UTC, so a DST change never shifts the opening hours.
        cursor = datetime.combine(day, start)
        period_end = datetime.combine(day, end)
        while cursor + length <= period_end:
            if steady:
                instant: datetime | None = (cursor - offset).replace(tzinfo=UTC)
            else:
                instant = local_instant(day, cursor.time(), tz)
            if instant is not None:
                slots.append(Slot(instant, instant + length))
            cursor += length
    return tuple(slots)


def slots_between(
    catalog: OfficeCatalog, office: Office, first: date, last: date, tz: ZoneInfo = KYIV
) -> list[Slot]:
    """Slots of every local day from `first` to `last` inclusive."""
    result: list[Slot] = []
    day = first
    while day <= last:
        result.extend(_day_slots(catalog, office, day, tz))
        day += timedelta(days=1)
    return result


def slots_by_day(
    catalog: OfficeCatalog, office: Office, first: date, last: date, tz: ZoneInfo = KYIV
) -> list[tuple[date, tuple[Slot, ...]]]:
    """`slots_between`, each local day with its slots (days without any left out)."""
    result: list[tuple[date, tuple[Slot, ...]]] = []
    day = first
    while day <= last:
        slots = _day_slots(catalog, office, day, tz)
        if slots:
            result.append((day, slots))
        day += timedelta(days=1)
    return result


def find_slot(
    catalog: OfficeCatalog, office: Office, starts_at: datetime, tz: ZoneInfo = KYIV
) -> Slot | None:
    """The slot that starts exactly at `starts_at`, if the office offers one."""
    day = starts_at.astimezone(tz).date()
    return next(
        (s for s in _day_slots(catalog, office, day, tz) if s.starts_at == starts_at), None
    )


def local_day(at: datetime, tz: ZoneInfo = KYIV) -> date:
    return at.astimezone(tz).date()


def hours_label(catalog: OfficeCatalog, office: Office, day: date) -> str | None:
    """Opening hours of `day` as "09:00–18:00" (breaks not included); None when closed."""
    if not is_open(catalog, office, day):
        return None
    schedule = office.day(day)
    assert schedule is not None
    return schedule.hours.label()


def breaks_label(office: Office, day: date) -> str | None:
    schedule = office.day(day)
    if schedule is None or not schedule.breaks:
        return None
    return ", ".join(b.label() for b in schedule.breaks)


def group_by_day(slots: Iterable[Slot], tz: ZoneInfo = KYIV) -> dict[date, list[Slot]]:
    days: dict[date, list[Slot]] = {}
    for slot in slots:
        days.setdefault(local_day(slot.starts_at, tz), []).append(slot)
    return days
