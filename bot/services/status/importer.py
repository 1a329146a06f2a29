"""Staff import of application statuses from CSV (format: shared/CONTRACT.md, docs/status.md).

Every bad row is reported with its line number and skipped; good rows load in
one transaction. Importing the same file again changes nothing and notifies
nobody, because only a status that differs from the stored one is a change.
Reasons never quote a number or a birth date: they name the column only.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery.quiet import KYIV
from bot.services.status.changes import Applied, Effect, Record, apply_record, lock_applications
from bot.services.status.numbers import MAX_LENGTH, MIN_LENGTH, parse_birth_date, parse_number
from bot.services.status.numbers import parse_timestamp as parse_updated_at
from bot.services.status.texts import STATUSES
from storage.models.status import Application

if TYPE_CHECKING:
    from bot.app import App

REQUIRED = ("number", "birth_date", "status", "updated_at")
OPTIONAL = ("note",)
MAX_NOTE = 1000
BATCH = 500


class ImportFileError(Exception):
    """The file cannot be read at all (missing, not UTF-8, no header): one line to show."""


@dataclass(frozen=True, slots=True)
class RowProblem:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass(frozen=True, slots=True)
class ParsedFile:
    records: list[tuple[int, Record]]
    problems: list[RowProblem]


@dataclass
class ImportReport:
    problems: list[RowProblem] = field(default_factory=list)
    counts: dict[Effect, int] = field(default_factory=lambda: dict.fromkeys(Effect, 0))
    notices: int = 0

    @property
    def loaded(self) -> int:
        return sum(self.counts.values())

    def add(self, applied: Applied) -> None:
        self.counts[applied.effect] += 1
        self.notices += applied.notices

    def summary(self) -> str:
        c = self.counts
        return (
            f"{self.loaded + len(self.problems)} rows: {c[Effect.ADDED]} new, "
            f"{c[Effect.CHANGED]} status changes, {c[Effect.UPDATED]} other updates, "
            f"{c[Effect.UNCHANGED]} unchanged, {c[Effect.OLDER]} older than stored (ignored), "
            f"{len(self.problems)} skipped; {self.notices} notification(s) queued"
        )


def read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ImportFileError("no such file") from None
    except IsADirectoryError:
        raise ImportFileError("is a folder, not a CSV file") from None
    except OSError as exc:
        raise ImportFileError(f"cannot be read ({exc.strerror})") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"not UTF-8 text (byte {exc.start}); save it as CSV UTF-8") from None


def _header(row: Sequence[str]) -> dict[str, int]:
    names = [name.strip().lower() for name in row]
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        raise ImportFileError(
            f"the header row lacks {', '.join(missing)}; expected: {','.join(REQUIRED + OPTIONAL)}"
        )
    return {name: names.index(name) for name in (*REQUIRED, *OPTIONAL) if name in names}


def _parse_row(
    cells: Sequence[str], columns: dict[str, int], width: int, today: date
) -> tuple[Record | None, list[str]]:
    if len(cells) > width or len(cells) <= max(columns[name] for name in REQUIRED):
        return None, [f"expected {width} columns, found {len(cells)}"]

    def cell(name: str) -> str:
        index = columns.get(name)
        return cells[index].strip() if index is not None and index < len(cells) else ""

    reasons: list[str] = []
    raw_number, raw_birth = cell("number"), cell("birth_date")
    number = parse_number(raw_number) if raw_number else None
    if not raw_number:
        reasons.append("number: empty")
    elif number is None:
        reasons.append(
            "number: not an application number "
            f"(letters, digits and dashes; {MIN_LENGTH}–{MAX_LENGTH} letters and digits)"
        )
    birth_date = parse_birth_date(raw_birth, today) if raw_birth else None
    if not raw_birth:
        reasons.append("birth_date: empty")
    elif birth_date is None:
        reasons.append("birth_date: not a valid past date (use YYYY-MM-DD)")
    status = cell("status").lower()
    if status not in STATUSES:
        reasons.append(
            "status: empty" if not status else f"status: not one of {', '.join(STATUSES)}"
        )
    raw_updated = cell("updated_at")
    updated_at = parse_updated_at(raw_updated) if raw_updated else None
    if updated_at is None:
        reasons.append(
            "updated_at: empty"
            if not raw_updated
            else "updated_at: not ISO-8601 with an offset (like 2026-11-20T10:00:00+02:00)"
        )
    note = cell("note")
    if len(note) > MAX_NOTE:
        reasons.append(f"note: longer than {MAX_NOTE} characters")
    if reasons or number is None or birth_date is None or updated_at is None:
        return None, reasons
    return Record(number, birth_date, status, updated_at, note), []


def parse_csv(text: str, today: date) -> ParsedFile:
    """Check every row; raise `ImportFileError` only when there is no usable header."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFileError("the file is empty; expected a header row") from None
    except csv.Error as exc:
        raise ImportFileError(f"line 1: not CSV ({exc})") from None
    columns = _header(header)
    width = len(header)
    records: list[tuple[int, Record]] = []
    problems: list[RowProblem] = []
    first_seen: dict[str, int] = {}
    while True:
        line = reader.line_num + 1  # where the next record starts
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(RowProblem(line, f"not valid CSV ({exc})"))
            break  # the reader cannot resynchronise after a broken quote
        if not any(cell.strip() for cell in cells):
            continue  # blank line
        record, reasons = _parse_row(cells, columns, width, today)
        if record is not None and record.number.key in first_seen:
            reasons = [
                f"number: the same application is already on line {first_seen[record.number.key]}"
            ]
            record = None
        if record is None:
            problems.append(RowProblem(line, "; ".join(reasons)))
            continue
        first_seen[record.number.key] = line
        records.append((line, record))
    return ParsedFile(records, problems)


def _chunks(
    items: Sequence[tuple[int, Record]], size: int
) -> Iterable[Sequence[tuple[int, Record]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def apply_records(
    session: AsyncSession,
    records: Sequence[tuple[int, Record]],
    *,
    now: datetime,
    default_locale: str,
    report: ImportReport | None = None,
) -> ImportReport:
    """Upsert the parsed rows inside the caller's transaction."""
    report = report or ImportReport()
    await lock_applications(session)
    for chunk in _chunks(records, BATCH):
        keys = [record.number.key for _, record in chunk]
        result = await session.execute(select(Application).where(Application.number.in_(keys)))
        existing = {application.number: application for application in result.scalars()}
        for _, record in chunk:
            applied = await apply_record(
                session,
                record,
                now=now,
                source="import",
                default_locale=default_locale,
                existing=existing.get(record.number.key),
                looked_up=True,
            )
            report.add(applied)
    return report


class _DryRun(Exception):
    """Raised inside the transaction to roll a dry run back."""


async def import_text(app: App, text: str, *, dry_run: bool = False) -> ImportReport:
    """Parse and load a whole CSV text with the app's clock; one transaction.

    With `dry_run` every row goes through exactly the same code and the
    transaction is rolled back: the report says what a real import would do
    (new, changed, unchanged, notices) and nothing is stored or sent.
    """
    now = app.runtime.now()
    parsed = parse_csv(text, now.astimezone(KYIV).date())
    report = ImportReport(problems=list(parsed.problems))
    try:
        async with app.db.transaction() as session:
            await apply_records(
                session,
                parsed.records,
                now=now,
                default_locale=app.settings.default_locale,
                report=report,
            )
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return report


async def import_file(app: App, path: Path) -> ImportReport:
    return await import_text(app, read_text(path))
