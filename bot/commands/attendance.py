"""`no-show CODE…`: an office marks past appointments nobody came to (for `stats`)."""

from __future__ import annotations

import argparse

from sqlalchemy import select

from bot.cli import CommandError
from bot.services.booking.visits import VisitError, mark_no_shows
from bot.wiring import Launch, command
from storage.models.booking import Appointment


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("codes", nargs="+", metavar="CODE", help="appointment codes")
    parser.add_argument("--undo", action="store_true", help="the person did come after all")


@command("no-show", "mark past appointments nobody came to (or --undo)", _arguments)
async def no_show(launch: Launch, args: argparse.Namespace) -> int:
    codes = sorted({code.strip().upper() for code in args.codes})
    app = await launch.app()
    try:
        now = app.runtime.now()
        async with app.db.transaction() as session:
            found = {
                a.code: a
                for a in await session.scalars(
                    select(Appointment).where(Appointment.code.in_(codes))
                )
            }
            unknown = [code for code in codes if code not in found]
            if unknown:
                raise CommandError(f"unknown appointment code(s): {', '.join(unknown)}")
            try:
                await mark_no_shows(
                    session, list(found.values()), actor="cli", now=now, undo=args.undo
                )
            except VisitError as exc:
                raise CommandError(f"{exc}; nothing marked") from None
    finally:
        await app.close()
    print(f"{'unmarked' if args.undo else 'marked'}: {len(codes)}")
    return 0
