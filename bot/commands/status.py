"""import-applications FILE.csv: staff load application statuses (docs/status.md)."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.cli import CommandError
from bot.delivery.quiet import KYIV
from bot.engine.runtime import system_clock
from bot.services.status.importer import (
    ImportFileError,
    ImportReport,
    apply_records,
    open_lines,
    records,
    scan,
)
from bot.wiring import Launch, command


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, metavar="FILE.csv", help="UTF-8 CSV with a header row")


@command(
    "import-applications",
    "upsert application statuses from a CSV file; a changed status notifies its followers",
    _arguments,
)
async def import_applications(launch: Launch, args: argparse.Namespace) -> int:
    settings = launch.settings
    path: Path = args.file
    today = system_clock().astimezone(KYIV).date()
    # Check the whole file before touching the database: a file that cannot be used
    # at all is one line and a non-zero exit, nothing loaded. Both passes stream the
    # file, so memory does not grow with it.
    try:
        with open_lines(path) as lines:
            checked = scan(lines, today)
    except ImportFileError as exc:
        raise CommandError(f"{path}: {exc}") from None
    app = await launch.app()
    try:
        report = ImportReport(problems=list(checked.problems))
        async with app.db.transaction() as session:
            try:
                with open_lines(path) as lines:
                    await apply_records(
                        session,
                        records(lines, today, checked),
                        now=app.runtime.now(),
                        default_locale=settings.default_locale,
                        report=report,
                    )
            except ImportFileError as exc:  # the file changed between the two passes
                raise CommandError(f"{path}: {exc}; nothing was loaded") from None
    finally:
        await app.close()
    for problem in report.problems:
        print(problem)
    print(f"{path.name}: {report.summary()}")
    return 0
