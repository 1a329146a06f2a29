"""`no-show CODE…`: an office marks past appointments nobody came to (for `stats`)."""

from __future__ import annotations

import argparse

from sqlalchemy import delete, select

from bot.app import build_app
from bot.cli import CommandError, command
from bot.settings import Settings
from storage.models.attendance import NoShow
from storage.models.booking import BOOKED, Appointment
from storage.repositories import AuditLog


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("codes", nargs="+", metavar="CODE", help="appointment codes")
    parser.add_argument("--undo", action="store_true", help="the person did come after all")


@command("no-show", "mark past appointments nobody came to (or --undo)", _arguments)
async def no_show(settings: Settings, args: argparse.Namespace) -> int:
    codes = sorted({code.strip().upper() for code in args.codes})
    app = await build_app(settings)
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
            not_past = [c for c, a in found.items() if a.state != BOOKED or a.starts_at > now]
            if not_past and not args.undo:
                raise CommandError(
                    f"not a past booked appointment: {', '.join(not_past)}; nothing marked"
                )
            ids = [a.id for a in found.values()]
            await session.execute(delete(NoShow).where(NoShow.appointment_id.in_(ids)))
            if not args.undo:
                session.add_all(
                    NoShow(appointment_id=i, marked_at=now, marked_by="cli") for i in ids
                )
            await AuditLog(session).record(
                "cli",
                "appointment.no_show_undone" if args.undo else "appointment.no_show",
                count=len(ids),
            )
    finally:
        await app.close()
    print(f"{'unmarked' if args.undo else 'marked'}: {len(codes)}")
    return 0
