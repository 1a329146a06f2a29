"""stats: counts without personal data, as text or JSON (bot/services/stats)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from datetime import datetime

from bot.cli import CommandError
from bot.i18n import KYIV, translator
from bot.services.stats.counting import Period, collect
from bot.services.stats.report import render
from bot.wiring import Launch, command


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date like 2026-11-30") from None


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="start", type=_date, metavar="DATE", help="first day")
    parser.add_argument("--to", dest="end", type=_date, metavar="DATE", help="last day")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def period_of(start: dt.date | None, end: dt.date | None) -> Period:
    """Whole days in Kyiv time, both ends included."""
    if start and end and end < start:
        raise CommandError("--to is before --from")
    return Period(
        start=datetime.combine(start, dt.time(), tzinfo=KYIV) if start else None,
        end=datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=KYIV) if end else None,
    )


@command(
    "stats",
    "statistics without personal data: funnel, results, bookings, announcements, cases",
    _arguments,
)
async def stats(launch: Launch, args: argparse.Namespace) -> int:
    settings = launch.settings
    period = period_of(args.start, args.end)
    app = await launch.app()
    try:
        async with app.db.transaction() as session:
            found = await collect(session, period)
    finally:
        await app.close()
    if args.json:
        print(json.dumps(found, ensure_ascii=False, indent=2))
    else:
        print(render(found, app.resources, translator(settings.default_locale)))
    return 0
