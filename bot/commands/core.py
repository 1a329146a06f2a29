"""run, chat, migrate, check-data, demo-data."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from bot.cli import CommandError
from bot.datafiles import load_all
from bot.demo import seed_all
from bot.lifecycle import start_services
from bot.wiring import Launch, command
from storage.migrate import upgrade_async


@command("migrate", "bring the database schema up to date (Alembic)")
async def migrate(launch: Launch, args: argparse.Namespace) -> int:
    settings = launch.settings
    await upgrade_async(settings.database_url)
    print("database is up to date")
    return 0


def _chat_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--user", default="demo", help="who you are in the chat (default: demo)")


@command("chat", "talk to the bot in the terminal (no token needed)", _chat_arguments)
async def chat(launch: Launch, args: argparse.Namespace) -> int:
    from handlers.demo_delivery import add_demo_messengers
    from handlers.terminal import chat as terminal_chat

    # Log lines would interleave with the conversation: keep only warnings and errors.
    root = logging.getLogger()
    root.setLevel(max(root.level, logging.WARNING))
    app = await launch.app()
    # Bot-initiated messages for the person at the keyboard appear in the chat;
    # with DEMO_TRANSCRIPT, Telegram and Viber deliveries go to that file.
    add_demo_messengers(app, terminal=sys.stdout, user_id=args.user)
    services = await start_services(app)
    try:
        await terminal_chat(app.engine, user_id=args.user, stdin=sys.stdin, stdout=sys.stdout)
    finally:
        await services.stop()
        await app.close()
    return 0


@command("run", "start every configured adapter, the HTTP server and the scheduler")
async def run(launch: Launch, args: argparse.Namespace) -> int:
    settings = launch.settings
    from bot.server import bind_http, serve

    if not (settings.telegram_token or settings.viber_token):
        raise CommandError(
            "nothing to run: set TELEGRAM_TOKEN and/or VIBER_TOKEN (or try `python -m bot chat`)"
        )
    # The port is claimed before the database is touched: a taken one stops the start here.
    sockets = bind_http(settings)
    try:
        app = await launch.app()
        try:
            await serve(app, sockets=sockets)
        finally:
            await app.close()
    finally:
        for sock in sockets:
            sock.close()
    return 0


def _check_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", nargs="?", type=Path, help="data folder (default: DATA_DIR)")


@command(
    "check-data", "validate a service-data folder (programmes, offices)", _check_data_arguments
)
async def check_data(launch: Launch, args: argparse.Namespace) -> int:
    settings = launch.settings
    folder = args.dir or settings.data_dir
    _, errors = load_all(folder, launch.loaders)
    for error in errors:
        print(error)
    if errors:
        raise CommandError(f"{len(errors)} problem(s) in {folder}")
    print(f"{folder}: OK")
    return 0


@command("demo-data", "load the demo content (idempotent) for `make demo`")
async def demo_data(launch: Launch, args: argparse.Namespace) -> int:
    app = await launch.app()
    try:
        for line in await seed_all(app):
            print(line)
    finally:
        await app.close()
    return 0
