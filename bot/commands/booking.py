"""`appointments --office ID --date YYYY-MM-DD [--csv]`: the day's list for office staff."""

from __future__ import annotations

import argparse
import csv
import sys
from datetime import date

from bot.cli import CommandError
from bot.services.booking import appointments as booking
from bot.services.booking.reminders import catalog_of
from bot.spreadsheet import safe_row
from bot.wiring import Launch, command

CSV_HEADER = ("time", "code", "service", "service_uk", "state")


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--office", required=True, help="office id (as in DATA_DIR/offices)")
    parser.add_argument("--date", required=True, help="the day, YYYY-MM-DD (Europe/Kyiv)")
    parser.add_argument("--csv", action="store_true", help="print CSV (UTF-8) instead of a table")


def _parse_day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--date {value!r} is not a date like 2026-12-01") from None


@command("appointments", "print or export one office's appointments for a day", _arguments)
async def appointments(launch: Launch, args: argparse.Namespace) -> int:
    day = _parse_day(args.date)
    app = await launch.app()
    try:
        catalog = catalog_of(app.runtime)
        office = catalog.office(args.office)
        if office is None:
            known = ", ".join(sorted(catalog.offices)) or "none"
            raise CommandError(f"unknown office {args.office!r}; known offices: {known}")
        async with app.db.transaction() as session:
            rows = await booking.day_list(session, office.id, day)
            places = await booking.day_places(session, catalog, office, day)
        records = [
            (
                a.starts_at.astimezone(booking.KYIV).strftime("%H:%M"),
                a.code,
                s.name.en if (s := catalog.service(a.service_id)) else a.service_id,
                s.name.uk if s else a.service_id,
                a.state,
            )
            for a in rows
        ]
    finally:
        await app.close()
    if args.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(CSV_HEADER)
        writer.writerows(safe_row(record) for record in records)
        return 0
    # Places kept for walk-ins are not appointments, but a citizen is told the office is
    # full: staff must see the same.
    state = "fully booked" if places.total and not places.free else f"{places.free} free"
    print(
        f"{office.name.en} — {day.isoformat()} — {len(records)} appointment(s); "
        f"{places.kept} place(s) kept for walk-ins; {places.free} free of {places.total}"
        f" — {state}"
    )
    for time_, code, service_en, _, _ in records:
        print(f"  {time_}  {code}  {service_en}")
    return 0
