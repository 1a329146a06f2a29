"""Staff import of application statuses from CSV (format: shared/CONTRACT.md, docs/status.md).

Every bad row is reported with its line number and skipped; good rows load in
one transaction. Importing the same file again changes nothing and notifies
nobody, because only a status that differs from the stored one is a change.
Reasons never quote a number or a birth date: they name the column only.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import stat
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery.quiet import KYIV
from bot.services.status.changes import Applied, Effect, Record, apply_record, lock_applications
from bot.services.status.numbers import MAX_LENGTH, MIN_LENGTH, parse_birth_date, parse_number
from bot.services.status.numbers import parse_timestamp as parse_updated_at
from bot.services.status.texts import STATUSES
from storage.db import Database
from storage.models.status import Application

REQUIRED = ("number", "birth_date", "status", "updated_at")
OPTIONAL = ("note",)
MAX_NOTE = 1000
BATCH = 500
MB = 1024 * 1024
#: the largest file `import-applications` reads (docs/status.md): about 800,000 rows
MAX_FILE_BYTES = 50 * MB
#: one physical line; a row is a few dozen bytes, a note at most MAX_NOTE characters
MAX_LINE_BYTES = 64 * 1024


class ImportFileError(Exception):
    """The file cannot be used at all (missing, too large, not UTF-8 text, a NUL byte, a quote
    never closed, no header): one line to show, and nothing of it is loaded."""


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


def check_file(path: Path) -> None:
    """Refuse, before a byte is read, what is not a regular file within the size limit."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ImportFileError("no such file") from None
    except OSError as exc:
        raise ImportFileError(f"cannot be read ({exc.strerror})") from None
    if stat.S_ISDIR(info.st_mode):
        raise ImportFileError("is a folder, not a CSV file")
    if not stat.S_ISREG(info.st_mode):
        # /dev/zero, a pipe, a socket: it may never end.
        raise ImportFileError("is not a regular file; save the CSV to a file first")
    if info.st_size > MAX_FILE_BYTES:
        raise ImportFileError(
            f"is {info.st_size / MB:.0f} MB; the limit is {MAX_FILE_BYTES // MB} MB "
            "(split it into several files)"
        )


def guarded_lines(raw_lines: Iterable[bytes]) -> Iterator[str]:
    """Physical lines as text, refusing what a staff CSV never holds, with its line number."""
    size = 0
    for number, raw in enumerate(raw_lines, start=1):
        size += len(raw)
        if size > MAX_FILE_BYTES:
            raise ImportFileError(
                f"line {number}: the file passes the {MAX_FILE_BYTES // MB} MB limit"
            )
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            raise ImportFileError(f"line {number}: longer than {MAX_LINE_BYTES} bytes")
        if b"\0" in raw:
            raise ImportFileError(f"line {number}: holds a NUL byte; this is not a CSV text file")
        try:
            line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            raise ImportFileError(
                f"not UTF-8 text (line {number}); save it as CSV UTF-8"
            ) from None
        yield line


@contextmanager
def open_lines(path: Path) -> Iterator[Iterator[str]]:
    """The checked file's lines, read one at a time: memory does not grow with the file."""
    check_file(path)
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise ImportFileError(f"cannot be read ({exc.strerror})") from None
    with handle:
        # Each read is bounded: a line without an end (a binary file) cannot fill memory.
        raw_lines = iter(lambda: handle.readline(MAX_LINE_BYTES + 1), b"")
        yield guarded_lines(raw_lines)


def read_text(path: Path) -> str:
    """A checked file as one text, for an upload kept between its check and its import."""
    with open_lines(path) as lines:
        return "".join(lines)


def text_lines(text: str) -> Iterator[str]:
    return guarded_lines(line.encode() for line in text.splitlines(keepends=True))


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


def _rows(lines: Iterable[str]) -> Iterator[tuple[int, list[str]]]:
    """(line where the record starts, cells); a broken quote refuses the whole file."""
    reader = csv.reader(lines, strict=True)
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if "end of data" in str(exc) or "field larger" in str(exc):
                raise ImportFileError(
                    f'line {line}: a quoted cell that starts here is never closed (a " is missing)'
                ) from None
            raise ImportFileError(f"line {reader.line_num}: not valid CSV ({exc})") from None
        yield line, cells


def _checked_rows(
    lines: Iterable[str], today: date
) -> Iterator[tuple[int, Record | None, list[str]]]:
    rows = _rows(lines)
    try:
        _, header = next(rows)
    except StopIteration:
        raise ImportFileError("the file is empty; expected a header row") from None
    columns = _header(header)
    width = len(header)
    for line, cells in rows:
        if not any(cell.strip() for cell in cells):
            continue  # blank line
        record, reasons = _parse_row(cells, columns, width, today)
        yield line, record, reasons


def _fingerprint(key: str) -> int:
    return int.from_bytes(
        hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True
    )


@dataclass(frozen=True, slots=True)
class Scan:
    """The first pass over a file: its problems and which lines repeat an application."""

    problems: list[RowProblem]
    skipped: frozenset[int]  # lines with a problem, repeated ones included


def scan(lines: Iterable[str], today: date) -> Scan:
    """Check every row without keeping any: raise `ImportFileError` for an unusable file.

    A repeated application is found from 8-byte fingerprints kept in an array and
    sorted once at the end: a few MB for a 200,000-row file, not a record per row.
    """
    problems: list[RowProblem] = []
    fingerprints: array[int] = array("q")
    starts: array[int] = array("q")
    for line, record, reasons in _checked_rows(lines, today):
        if record is None:
            problems.append(RowProblem(line, "; ".join(reasons)))
            continue
        fingerprints.append(_fingerprint(record.number.key))
        starts.append(line)
    ordered = sorted(fingerprints)
    repeated = {a for a, b in itertools.pairwise(ordered) if a == b}
    del ordered
    first: dict[int, int] = {}
    for fingerprint, line in zip(fingerprints, starts, strict=True):
        if fingerprint not in repeated:
            continue
        if fingerprint in first:
            reason = f"number: the same application is already on line {first[fingerprint]}"
            problems.append(RowProblem(line, reason))
        else:
            first[fingerprint] = line
    problems.sort(key=lambda problem: problem.line)
    return Scan(problems, frozenset(problem.line for problem in problems))


def records(lines: Iterable[str], today: date, checked: Scan) -> Iterator[tuple[int, Record]]:
    """The second pass: the good rows, one at a time, as `scan` judged them."""
    for line, record, _ in _checked_rows(lines, today):
        if record is not None and line not in checked.skipped:
            yield line, record


def parse_csv(text: str, today: date) -> ParsedFile:
    """A whole CSV text checked and parsed (small files, tests); files go through `scan`."""
    checked = scan(text_lines(text), today)
    return ParsedFile(list(records(text_lines(text), today, checked)), checked.problems)


def _chunks(items: Iterable[tuple[int, Record]], size: int) -> Iterator[list[tuple[int, Record]]]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


async def apply_records(
    session: AsyncSession,
    records: Iterable[tuple[int, Record]],
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


async def import_into(
    session: AsyncSession,
    lines: Callable[[], AbstractContextManager[Iterable[str]]],
    *,
    now: datetime,
    default_locale: str,
) -> ImportReport:
    """Check a whole file, then load its good rows in the caller's transaction (two passes)."""
    today = now.astimezone(KYIV).date()
    with lines() as first:
        checked = scan(first, today)
    report = ImportReport(problems=list(checked.problems))
    with lines() as second:
        await apply_records(
            session,
            records(second, today, checked),
            now=now,
            default_locale=default_locale,
            report=report,
        )
    return report


async def import_lines(
    db: Database,
    lines: Callable[[], AbstractContextManager[Iterable[str]]],
    *,
    now: datetime,
    default_locale: str,
    dry_run: bool = False,
) -> ImportReport:
    """`import_into` in one transaction of its own, streaming both passes.

    With `dry_run` every row goes through exactly the same code and the
    transaction is rolled back: the report says what a real import would do
    (new, changed, unchanged, notices) and nothing is stored or sent.
    """
    report = ImportReport()
    try:
        async with db.transaction() as session:
            report = await import_into(session, lines, now=now, default_locale=default_locale)
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return report


async def import_text(
    db: Database, text: str, *, now: datetime, default_locale: str, dry_run: bool = False
) -> ImportReport:
    """Parse and load a whole CSV text; one transaction."""
    return await import_lines(
        db,
        lambda: nullcontext(text_lines(text)),
        now=now,
        default_locale=default_locale,
        dry_run=dry_run,
    )


async def import_file(
    db: Database, path: Path, *, now: datetime, default_locale: str
) -> ImportReport:
    return await import_lines(db, lambda: open_lines(path), now=now, default_locale=default_locale)
