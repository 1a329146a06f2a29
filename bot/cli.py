"""`python -m bot …`: the operator's command line (names in shared/CONTRACT.md).

The commands come from the features' manifest entries (`bot.app.FEATURES`);
`bot.app.main` hands them here. Every command exits non-zero with one line on
stderr (no traceback) on bad input.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable, Sequence

from bot.datafiles import DataProblems
from bot.logs import register_secret, setup_logging
from bot.settings import Settings, SettingsError, load_settings
from bot.wiring import Command, Launch

log = logging.getLogger("bot.cli")


class CommandError(Exception):
    """A bad input or state the operator can fix; printed as one line."""


def build_parser(commands: Sequence[Command]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot", description="Poruch social-services bot"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for found in commands:
        found.arguments(sub.add_parser(found.name, help=found.help, description=found.help))
    return parser


def run(
    commands: Sequence[Command],
    launch: Callable[[Settings], Launch],
    argv: Sequence[str] | None = None,
) -> int:
    """Parse `argv`, load the settings and run the chosen command with its `Launch`."""
    parser = build_parser(commands)
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for secret in (
        settings.telegram_token,
        settings.viber_token,
        settings.telegram_webhook_secret,
    ):
        register_secret(secret.get_secret_value() if secret else None)
    setup_logging(settings.log_level, settings.log_format)
    chosen = next(found for found in commands if found.name == args.command)
    try:
        return asyncio.run(chosen.handler(launch(settings), args))
    except (CommandError, SettingsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except DataProblems as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        print(f"error: {exc}; fix DATA_DIR (see `python -m bot check-data`)", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        log.error("command %s failed: %s", args.command, type(exc).__name__)
        print(f"error: {args.command} failed ({type(exc).__name__}); see the log", file=sys.stderr)
        return 1
