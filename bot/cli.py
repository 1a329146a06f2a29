"""`python -m bot …`: the operator's command line (names in shared/CONTRACT.md).

Every command exits non-zero with one line on stderr (no traceback) on bad input.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from bot.datafiles import DataProblems
from bot.logs import register_secret, setup_logging
from bot.settings import Settings, SettingsError, load_settings

log = logging.getLogger("bot.cli")


class CommandError(Exception):
    """A bad input or state the operator can fix; printed as one line."""


Handler = Callable[[Settings, argparse.Namespace], Coroutine[Any, Any, int]]
_COMMANDS: dict[str, tuple[Handler, Callable[[argparse.ArgumentParser], None], str]] = {}


def command(
    name: str, help: str, arguments: Callable[[argparse.ArgumentParser], None] = lambda p: None
) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        _COMMANDS[name] = (handler, arguments, help)
        return handler

    return register


# Importing a module registers its commands; a feature adds its module here.
COMMAND_MODULES: list[str] = [
    "bot.commands.core",
    "bot.commands.booking",
    "bot.commands.status",
    "bot.commands.broadcast",
    "bot.commands.console",
    "bot.commands.stats",
    "bot.commands.attendance",
]


def _load_commands() -> None:
    for module in COMMAND_MODULES:
        importlib.import_module(module)


def build_parser() -> argparse.ArgumentParser:
    _load_commands()
    parser = argparse.ArgumentParser(
        prog="python -m bot", description="Poruch social-services bot"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (_, arguments, help_text) in _COMMANDS.items():
        arguments(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
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
    handler = _COMMANDS[args.command][0]
    try:
        return asyncio.run(handler(settings, args))
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
