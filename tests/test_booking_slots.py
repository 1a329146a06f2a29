"""Slot generation, office data validation and nearest offices — no database."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from bot.services.booking.geo import haversine_km, nearest
from bot.services.booking.loader import load_catalog
from bot.services.booking.slots import day_slots, find_slot, hours_label, local_instant
from bot.settings import DEMO_DATA_DIR
from tests.booking_support import catalog, office


def wall(slots: list, tz: str = "Europe/Kyiv") -> list[str]:  # type: ignore[type-arg]
    from zoneinfo import ZoneInfo

    return [s.starts_at.astimezone(ZoneInfo(tz)).strftime("%H:%M") for s in slots]


def test_breaks_cut_the_day_and_slots_restart_after_them() -> None:
    cat = catalog()
    monday = date(2026, 11, 30)
    assert wall(day_slots(cat, cat.offices["test-office"], monday)) == [
        "09:00",
        "09:30",
        "10:30",
        "11:00",
        "11:30",
    ]
    tuesday = date(2026, 12, 1)
    assert len(day_slots(cat, cat.offices["test-office"], tuesday)) == 6


def test_slot_that_does_not_fit_before_closing_is_not_offered() -> None:
    cat = catalog(office(slot_minutes=40, schedule={"tue": "09:00-10:50"}))
    assert wall(day_slots(cat, cat.offices["test-office"], date(2026, 12, 1))) == [
        "09:00",
        "09:40",
    ]


def test_closed_dates_weekends_and_holidays_have_no_slots() -> None:
    closed = office(closed=[date(2026, 12, 2), {"from": date(2026, 12, 8), "to": "2026-12-09"}])
    cat = catalog(closed, holidays={date(2026, 12, 25): "Christmas"})
    o = cat.offices["test-office"]
    assert day_slots(cat, o, date(2026, 12, 2)) == []  # closed date
    assert day_slots(cat, o, date(2026, 12, 8)) == []  # closed range
    assert day_slots(cat, o, date(2026, 12, 9)) == []
    assert day_slots(cat, o, date(2026, 12, 10)) != []
    assert day_slots(cat, o, date(2026, 12, 5)) == []  # Saturday: no hours
    assert day_slots(cat, o, date(2026, 12, 25)) == []  # public holiday (a Friday)
    assert hours_label(cat, o, date(2026, 12, 25)) is None
    works = catalog(office(observe_holidays=False), holidays={date(2026, 12, 25): "Christmas"})
    assert day_slots(works, works.offices["test-office"], date(2026, 12, 25)) != []


def test_slots_keep_wall_clock_time_across_the_spring_dst_change() -> None:
    cat = catalog(office(schedule={"sat": "09:00-10:00", "mon": "09:00-10:00"}))
    o = cat.offices["test-office"]
    # Last Sunday of March 2026 is the 29th: 09:00 is 07:00 UTC before, 06:00 UTC after.
    before = day_slots(cat, o, date(2026, 3, 28))
    after = day_slots(cat, o, date(2026, 3, 30))
    assert before[0].starts_at == datetime(2026, 3, 28, 7, 0, tzinfo=UTC)
    assert after[0].starts_at == datetime(2026, 3, 30, 6, 0, tzinfo=UTC)
    assert wall(before) == wall(after) == ["09:00", "09:30"]


def test_night_of_the_spring_change_skips_the_missing_hour() -> None:
    night = office(slot_minutes=30, schedule={"sun": "02:00-05:00"})
    cat = catalog(night)
    slots = day_slots(cat, night, date(2026, 3, 29))
    # 03:00–03:59 does not exist that night in Europe/Kyiv.
    assert wall(slots) == ["02:00", "02:30", "04:00", "04:30"]
    starts = [s.starts_at for s in slots]
    assert starts == sorted(set(starts))
    assert (
        slots[1].starts_at + timedelta(minutes=30) == slots[2].starts_at
    )  # 02:30 EET → 04:00 EEST
    assert local_instant(date(2026, 3, 29), time(3, 30)) is None


def test_night_of_the_autumn_change_offers_a_repeated_hour_once() -> None:
    night = office(slot_minutes=30, schedule={"sun": "02:00-05:00"})
    cat = catalog(night)
    slots = day_slots(cat, night, date(2026, 10, 25))
    assert wall(slots) == ["02:00", "02:30", "03:00", "03:30", "04:00", "04:30"]
    starts = [s.starts_at for s in slots]
    assert len(set(starts)) == len(starts)
    # 03:30 is taken at its first occurrence (EEST, UTC+3); 04:00 is already EET (UTC+2).
    assert slots[3].starts_at == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert slots[4].starts_at == datetime(2026, 10, 25, 2, 0, tzinfo=UTC)
    # Ordinary days on both sides keep 09:00 local.
    day = office(schedule={"sat": "09:00-10:00", "mon": "09:00-10:00"})
    both = catalog(day)
    assert day_slots(both, day, date(2026, 10, 24))[0].starts_at.hour == 6
    assert day_slots(both, day, date(2026, 10, 26))[0].starts_at.hour == 7


def test_every_day_of_a_year_gives_each_wall_time_its_own_instant() -> None:
    """A day's instants are worked out from its UTC offset when the day has one offset;
    each must be what converting that wall time alone gives, the DST nights included."""
    every_day = {day: "00:00-23:45" for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    always = office(slot_minutes=15, schedule=every_day, observe_holidays=False)
    cat = catalog(always)
    day = date(2026, 1, 1)
    while day.year == 2026:
        expected = []
        for n in range(95):  # 00:00 … 23:30, each 15 minutes long
            instant = local_instant(day, time(n // 4, n % 4 * 15))
            if instant is not None:
                expected.append(instant)
        assert [s.starts_at for s in day_slots(cat, always, day)] == expected, day
        day += timedelta(days=1)


def test_a_day_worked_out_once_serves_its_catalog_only() -> None:
    """Slots are kept per catalog and office: another catalog (new data files, a
    holiday added) gets its own, and a kept list handed out cannot be spoilt."""
    first = catalog()
    o = first.offices["test-office"]
    friday = date(2026, 12, 25)
    slots = day_slots(first, o, friday)
    assert len(slots) == 6
    slots.clear()  # the caller's own list
    assert len(day_slots(first, o, friday)) == 6
    with_holiday = catalog(o, holidays={friday: "Christmas"})
    assert day_slots(with_holiday, o, friday) == []
    assert len(day_slots(first, o, friday)) == 6
    longer = catalog(office(schedule={"fri": "09:00-13:00"}))
    assert len(day_slots(longer, longer.offices["test-office"], friday)) == 8


def test_find_slot_accepts_only_real_slot_starts() -> None:
    cat = catalog()
    o = cat.offices["test-office"]
    assert find_slot(cat, o, datetime(2026, 12, 1, 7, 0, tzinfo=UTC)) is not None  # 09:00 Kyiv
    assert find_slot(cat, o, datetime(2026, 12, 1, 7, 10, tzinfo=UTC)) is None
    assert find_slot(cat, o, datetime(2026, 11, 30, 8, 0, tzinfo=UTC)) is None  # Monday break


def test_demo_offices_are_valid_and_cover_the_country() -> None:
    cat, errors = load_catalog(DEMO_DATA_DIR)
    assert errors == []
    assert len(cat.offices) >= 12
    oblasts = {o.oblast for o in cat.offices.values()}
    assert len(oblasts) >= 4
    assert "UA80000000000093317" in oblasts  # Kyiv City
    assert {"UA63000000000041885", "UA59000000000057109"} <= oblasts  # Kharkiv, Sumy
    assert {o.kind.value for o in cat.offices.values()} == {"cnap", "social", "pfu"}
    for o in cat.offices.values():
        assert o.name.uk and o.name.en and o.address.uk and o.address.en
        assert len(f"of:{o.id}".encode()) <= 40


def test_bad_office_data_is_reported_with_file_and_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(DEMO_DATA_DIR / "offices", data / "offices")
    (data / "offices" / "broken.yaml").write_text(
        "offices:\n"
        "  - id: broken-office\n"
        "    kind: cnap\n"
        "    name: {uk: Зламаний}\n"
        "    address: {uk: адреса, en: address}\n"
        "    oblast: UA99000000000000000\n"
        "    hromada: {uk: громада, en: hromada}\n"
        "    location: {lat: 50.1, lon: 30.1}\n"
        "    phone: '123'\n"
        "    services: [idp, teleportation]\n"
        "    slot_minutes: 20\n"
        "    seats: 1\n"
        "    schedule:\n"
        "      mon: {hours: '09:00-12:00', breaks: ['13:00-14:00']}\n",
        encoding="utf-8",
    )
    _, errors = load_catalog(data)
    text = "\n".join(str(e) for e in errors)
    assert "broken.yaml:4" in text and "en" in text  # missing English name
    assert "broken.yaml:14" in text and "outside the hours" in text
    (data / "offices" / "broken.yaml").write_text(
        (data / "offices" / "broken.yaml")
        .read_text(encoding="utf-8")
        .replace("{uk: Зламаний}", "{uk: Зламаний, en: Broken}")
        .replace("breaks: ['13:00-14:00']", "breaks: []"),
        encoding="utf-8",
    )
    _, errors = load_catalog(data)
    text = "\n".join(str(e) for e in errors)
    assert "broken.yaml:6: unknown oblast code" in text
    assert "broken.yaml:10: unknown service 'teleportation'" in text


def test_missing_offices_folder_means_no_booking_not_an_error(tmp_path: Path) -> None:
    cat, errors = load_catalog(tmp_path)
    assert errors == [] and cat.offices == {}


def test_haversine_matches_a_known_distance() -> None:
    # Kyiv → Lviv is about 470 km in a straight line.
    assert 460 < haversine_km(50.4501, 30.5234, 49.8397, 24.0297) < 480
    assert haversine_km(50.0, 30.0, 50.0, 30.0) == 0


def test_nearest_offices_are_ordered_by_distance() -> None:
    cat, _ = load_catalog(DEMO_DATA_DIR)
    # Standing at Kyiv's Obolon: the two Obolon offices come first, then another Kyiv one.
    near = nearest(cat.offices.values(), 50.505, 30.50, 3)
    assert [o.id for o, _ in near][:2] == ["kyiv-cnap-obolon", "kyiv-pfu-obolon"]
    assert near[2][0].oblast == "UA80000000000093317"
    distances = [km for _, km in near]
    assert distances == sorted(distances) and len(near) == 3
    # In Kharkiv, Kharkiv offices; in Sumy, the Sumy office first.
    assert nearest(cat.offices.values(), 50.0, 36.25, 1)[0][0].id == "kharkiv-pfu-center"
    assert nearest(cat.offices.values(), 50.91, 34.80, 1)[0][0].id == "sumy-social"


def test_the_days_kept_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Days long past must not pile up in a bot that runs for months."""
    from bot.services.booking import slots

    monkeypatch.setattr(slots, "_DAYS", {})
    monkeypatch.setattr(slots, "_DAYS_MAX", 10)
    cat = catalog()
    o = cat.offices["test-office"]
    first = date(2026, 12, 1)
    days = [first + timedelta(days=n) for n in range(40)]
    answers = [day_slots(cat, o, day) for day in days]
    assert len(slots._DAYS) <= 10
    assert [day_slots(cat, o, day) for day in days] == answers  # the same, kept or not
