"""`console-link --staff <platform>:<id>`: a one-time sign-in link to the staff web console."""

from __future__ import annotations

import argparse

from bot.cli import CommandError
from bot.console.auth import LINK_LIFETIME, NotStaff, issue_link, link_url
from bot.wiring import Launch, command


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--staff", required=True, metavar="PLATFORM:ID", help="as in STAFF_IDS: telegram:<id>"
    )


@command(
    "console-link",
    "print a one-time sign-in link to the staff console for a staff member",
    _arguments,
)
async def console_link(launch: Launch, args: argparse.Namespace) -> int:
    settings = launch.settings
    staff_id = args.staff.strip()
    if staff_id not in settings.staff_ids:
        # No hint about who is staff beyond "not this one".
        raise CommandError(f"{staff_id!r} is not in STAFF_IDS: no link")
    app = await launch.app()
    try:
        async with app.db.transaction() as session:
            try:
                token = await issue_link(
                    session, app.settings, staff_id, app.runtime.now(), via="cli"
                )
            except NotStaff:
                raise CommandError(f"{staff_id!r} is not in STAFF_IDS: no link") from None
    finally:
        await app.close()
    print(link_url(app.settings, token))
    minutes = int(LINK_LIFETIME.total_seconds() // 60)
    print(f"works once, for {minutes} minutes; the console is served by `python -m bot run`")
    return 0


@command(
    "console",
    "serve the staff web console (with /healthz, /metrics and any configured messenger)",
)
async def console(launch: Launch, args: argparse.Namespace) -> int:
    settings = launch.settings
    from bot.server import serve
    from handlers.demo_delivery import add_demo_messengers

    app = await launch.app()
    add_demo_messengers(app)  # only with DEMO_TRANSCRIPT (make demo)
    base = settings.public_base_url or f"http://{settings.http_host}:{settings.http_port}"
    print(f"staff console at {base}{settings.console_path}/ — sign in with a one-time link")
    print("(type /console to the bot, or run `python -m bot console-link --staff …`)")
    try:
        await serve(app)
    finally:
        await app.close()
    return 0
