"""import-applications FILE.csv: staff load application statuses (docs/status.md)."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.app import build_app
from bot.cli import CommandError, command
from bot.delivery.quiet import KYIV
from bot.engine.runtime import system_clock
from bot.services.status.importer import (
    ImportFileError,
    ImportReport,
    apply_records,
    parse_csv,
    read_text,
)
from bot.settings import Settings


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, metavar="FILE.csv", help="UTF-8 CSV with a header row")


@command(
    "import-applications",
    "upsert application statuses from a CSV file; a changed status notifies its followers",
    _arguments,
)
async def import_applications(settings: Settings, args: argparse.Namespace) -> int:
    path: Path = args.file
    # Read and check the whole file before touching the database: a file that
    # cannot be read at all is one line and a non-zero exit, nothing loaded.
    try:
        parsed = parse_csv(read_text(path), system_clock().astimezone(KYIV).date())
    except ImportFileError as exc:
        raise CommandError(f"{path}: {exc}") from None
    app = await build_app(settings)
    try:
        report = ImportReport(problems=list(parsed.problems))
        async with app.db.transaction() as session:
            await apply_records(
                session,
                parsed.records,
                now=app.runtime.now(),
                default_locale=settings.default_locale,
                report=report,
            )
    finally:
        await app.close()
    for problem in report.problems:
        print(problem)
    print(f"{path.name}: {report.summary()}")
    return 0
