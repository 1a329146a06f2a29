"""CSV import: bad rows with line numbers, idempotency, exactly one notice per change and follower.

Storage-level tests run on SQLite and PostgreSQL (`db_url`).
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import resource
import subprocess
import sys
import tracemalloc
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import App, build_app, launch
from bot.cli import CommandError
from bot.commands.status import import_applications
from bot.engine.events import reply_from_json
from bot.resources import Resources
from bot.services.personal_data import erase_person
from bot.services.status import follows, importer
from bot.services.status.changes import Effect, notify_followers
from bot.services.status.demo import DEMO_CSV, seed_applications
from bot.services.status.importer import ImportFileError, parse_csv
from bot.services.status.lookup import Guesser, number_key, record_failure
from bot.services.status.numbers import parse_number
from storage.models import OutboxMessage, Person
from storage.models.status import Application, Follow, LookupFailure, StatusChange
from tests.conftest import Clock, make_settings
from tests.status_support import (
    DEMO_ROWS,
    application_id,
    count,
    csv_text,
    import_csv,
    outbox,
    person,
)

ROOT = Path(__file__).resolve().parent.parent
CHANGED = "VPO-2026-000123,1984-03-15,approved,2026-11-24T09:00:00+02:00,"


async def follow(app: App, person_id: int, key: str) -> None:
    target = await application_id(app, key)
    async with app.db.transaction() as session:
        await follows.follow(session, person_id, target, app.runtime.now())


def test_bad_rows_are_reported_with_line_numbers() -> None:
    text = csv_text(
        DEMO_ROWS[0],
        "VPO-2026-000999,15.03.1984,in_review,2026-11-20T10:00:00+02:00,",  # day-first: accepted
        "hello!,1984-03-15,in_review,2026-11-20T10:00:00+02:00,",
        "VPO-2026-000200,1984-02-30,in_review,2026-11-20T10:00:00+02:00,",
        "VPO-2026-000201,1984-03-15,lost,2026-11-20T10:00:00+02:00,",
        "VPO-2026-000202,1984-03-15,paid,2026-11-20 10:00,",
        "VPO-2026-000203,1984-03-15",
        "",
        "vpo 2026 000123,1984-03-15,paid,2026-11-21T10:00:00+02:00,",
        ",,,,",
        '"VPO-2026-000204",2030-01-01,paid,2026-11-21T10:00:00Z,"a note, with a comma"',
    )
    parsed = parse_csv(text, datetime(2026, 11, 24, tzinfo=UTC).date())
    assert [line for line, _ in parsed.records] == [2, 3]
    problems = [str(problem) for problem in parsed.problems]
    assert problems[0].startswith("line 4: number: not an application number")
    assert problems[1] == "line 5: birth_date: not a valid past date (use YYYY-MM-DD)"
    assert problems[2].startswith("line 6: status: not one of submitted, in_review")
    assert problems[3].startswith("line 7: updated_at: not ISO-8601 with an offset")
    assert problems[4] == "line 8: expected 5 columns, found 2"
    assert problems[5] == "line 10: number: the same application is already on line 2"
    assert problems[6] == "line 12: birth_date: not a valid past date (use YYYY-MM-DD)"
    assert len(problems) == 7  # the blank line and the empty row are not errors
    for problem in problems:  # a reason names the column, never the value
        assert "000123" not in problem and "1984" not in problem and "2030" not in problem


def test_quoted_multiline_note_keeps_later_line_numbers_right() -> None:
    text = csv_text(
        'VPO-2026-000123,1984-03-15,in_review,2026-11-20T10:00:00+02:00,"two\nlines"',
        "bad,1984-03-15,in_review,2026-11-20T10:00:00+02:00,",
    )
    parsed = parse_csv(text, datetime(2026, 11, 24, tzinfo=UTC).date())
    assert parsed.records[0][1].note == "two\nlines"
    assert [problem.line for problem in parsed.problems] == [4]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("number,status\nVPO-2026-000123,paid\n", "lacks birth_date, updated_at"),
    ],
)
def test_unusable_file_is_one_error(text: str, reason: str) -> None:
    with pytest.raises(ImportFileError, match=reason):
        parse_csv(text, datetime(2026, 11, 24, tzinfo=UTC).date())


async def test_import_loads_good_rows_and_is_idempotent(app: App) -> None:
    text = csv_text(*DEMO_ROWS, "broken,row")
    first = await import_csv(app, text)
    assert first.counts[Effect.ADDED] == 2 and len(first.problems) == 1
    assert await count(app, Application) == 2
    assert await count(app, StatusChange) == 2

    again = await import_csv(app, text)
    assert again.counts[Effect.UNCHANGED] == 2 and again.counts[Effect.ADDED] == 0
    assert again.notices == 0
    assert await count(app, StatusChange) == 2
    assert await outbox(app) == []


async def test_status_change_notifies_each_follower_once_in_their_language(
    app: App, clock: Clock
) -> None:
    await import_csv(app, csv_text(*DEMO_ROWS))
    english, ukrainian, other = (
        await person(app, "1", "en"),
        await person(app, "2", "uk"),
        await person(app, "3", "en"),
    )
    await follow(app, english, "VPO2026000123")
    await follow(app, ukrainian, "VPO2026000123")
    await follow(app, other, "VPO2026000124")  # a different application: no message

    # A note-only change is an update, not a status change: nobody is told.
    report = await import_csv(app, csv_text(DEMO_ROWS[0] + "see you soon", DEMO_ROWS[1]))
    assert report.counts[Effect.UPDATED] == 1 and report.notices == 0
    assert await outbox(app) == []

    report = await import_csv(app, csv_text(CHANGED, DEMO_ROWS[1]))
    assert report.counts[Effect.CHANGED] == 1 and report.notices == 2
    rows = await outbox(app)
    assert [(row.person_id, row.kind, row.state) for row in rows] == [
        (english, "status", "pending"),
        (ukrainian, "status", "pending"),
    ]
    change_id = (await application_history(app, "VPO2026000123"))[0]
    assert [row.dedupe_key for row in rows] == [
        f"status:{change_id}:{english}",
        f"status:{change_id}:{ukrainian}",
    ]
    assert rows[0].not_before == clock()  # 12:00 in Kyiv: straight away
    english_text = reply_from_json(rows[0].body[0]).full_text()
    ukrainian_text = reply_from_json(rows[1].body[0]).full_text()
    assert "Your application status has changed" in english_text and "Approved" in english_text
    assert "Статус вашої заяви змінився" in ukrainian_text and "Призначено" in ukrainian_text
    for text in (english_text, ukrainian_text):  # lock screens: only the number's tail
        assert "…0123" in text and "VPO-2026-000123" not in text

    # The same file again: no change, no second message.
    again = await import_csv(app, csv_text(CHANGED, DEMO_ROWS[1]))
    assert again.notices == 0 and len(await outbox(app)) == 2


async def application_history(app: App, key: str) -> list[int]:
    async with app.db.transaction() as session:
        result = await session.execute(
            select(StatusChange.id)
            .join(Application, Application.id == StatusChange.application_id)
            .where(Application.number == key)
            .order_by(StatusChange.id.desc())
        )
        return list(result.scalars())


async def test_notice_exactly_once_across_a_restart(app: App, db_url: str, clock: Clock) -> None:
    await import_csv(app, csv_text(*DEMO_ROWS))
    follower = await person(app, "1", "en")
    await follow(app, follower, "VPO2026000123")
    await import_csv(app, csv_text(CHANGED))
    assert len(await outbox(app)) == 1
    await app.close()

    restarted = await build_app(make_settings(db_url), migrate=False, clock=clock)
    try:
        report = await import_csv(restarted, csv_text(CHANGED))
        assert report.notices == 0
        # Even if the notifying code ran again for the same change, the dedupe key holds.
        async with restarted.db.transaction() as session:
            application = await session.scalar(
                select(Application).where(Application.number == "VPO2026000123")
            )
            assert application is not None
            change = await session.scalar(
                select(StatusChange)
                .where(StatusChange.application_id == application.id)
                .order_by(StatusChange.id.desc())
            )
            assert change is not None
            again = await notify_followers(
                session, application, change, now=clock(), default_locale="uk"
            )
        assert again == 0
        assert len(await outbox(restarted)) == 1
    finally:
        await restarted.close()


async def test_older_rows_do_not_undo_a_newer_status(app: App) -> None:
    await import_csv(app, csv_text(CHANGED))
    report = await import_csv(app, csv_text(DEMO_ROWS[0]))  # in_review on 20 Nov: older
    assert report.counts[Effect.OLDER] == 1
    async with app.db.transaction() as session:
        status = await session.scalar(select(Application.status))
    assert status == "approved"


async def test_night_time_change_waits_for_eight_in_kyiv(app: App, clock: Clock) -> None:
    await import_csv(app, csv_text(*DEMO_ROWS))
    follower = await person(app, "1", "uk")
    await follow(app, follower, "VPO2026000123")
    clock.current = datetime(2026, 11, 24, 21, 30, tzinfo=UTC)  # 23:30 in Kyiv
    await import_csv(app, csv_text(CHANGED))
    (row,) = await outbox(app)
    assert row.not_before == datetime(2026, 11, 25, 6, 0, tzinfo=UTC)  # 08:00 in Kyiv
    assert row.created_at == clock()


async def test_erasing_a_person_drops_their_follows_but_keeps_anonymous_attempts(
    app: App,
) -> None:
    await import_csv(app, csv_text(*DEMO_ROWS))
    follower = await person(app, "1", "en")
    await follow(app, follower, "VPO2026000123")
    number = parse_number("VPO-2026-000123")
    assert number is not None
    async with app.db.transaction() as session:
        found = await session.get(Person, follower)
        assert found is not None
        guesser = Guesser.of(app.settings, found.platform, found.platform_user_id)
        await record_failure(session, guesser, number_key(app.settings, number), app.runtime.now())
    async with app.db.transaction() as session:
        found = await session.get(Person, follower)
        assert found is not None
        await erase_person(session, found, app.runtime.personal_data)
    assert await count(app, Follow) == 0
    # The lockout survives erasure, keyed by HMACs that name nobody without SECRET_KEY.
    async with app.db.transaction() as session:
        failures = (await session.scalars(select(LookupFailure))).all()
    assert sorted(f.scope for f in failures) == ["number", "who"]
    for failure in failures:
        assert len(failure.key) == 64 and "VPO" not in failure.key
    assert await count(app, Application) == 2  # the registry's data stays


async def test_demo_seeder_is_idempotent(app: App) -> None:
    async def seed() -> str:
        async with app.db.transaction() as session:
            return await seed_applications(
                session,
                now=app.runtime.now(),
                resources=Resources.of(app.runtime.resources),
                settings=app.settings,
            )

    first = await seed()
    second = await seed()
    assert "9 new" in first and "9 unchanged" in second
    assert await count(app, Application) == 9
    assert await count(app, OutboxMessage) == 0


async def test_import_logs_no_numbers_or_birth_dates(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    # Our own code at DEBUG, libraries at the production level. (aiosqlite at DEBUG prints
    # query parameters, which the redacting filter does not catch: see docs/status.md.)
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="bot")
    await import_csv(app, csv_text(*DEMO_ROWS))
    follower = await person(app, "1", "en")
    await follow(app, follower, "VPO2026000123")
    await import_csv(app, csv_text(CHANGED, "bad,1984-03-15,x,y,"))
    logged = caplog.text
    assert "000123" not in logged and "1984" not in logged


# -- the command line -----------------------------------------------------------


async def test_command_reports_bad_rows_and_a_summary(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv_file = tmp_path / "statuses.csv"
    csv_file.write_text(csv_text(*DEMO_ROWS, "bad,1984-03-15,paid,2026-11-20T10:00:00+02:00,"))
    settings = make_settings(sqlite_url)
    assert (
        await import_applications.handler(launch(settings), argparse.Namespace(file=csv_file)) == 0
    )
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("line 4: number: not an application number")
    assert lines[-1].startswith("statuses.csv: 3 rows: 2 new")
    assert "1 skipped" in lines[-1]

    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("number,birth_date,status,updated_at\nX,1,2,caf\xe9\n".encode("latin-1"))
    with pytest.raises(CommandError, match=r"latin1\.csv: not UTF-8"):
        await import_applications.handler(launch(settings), argparse.Namespace(file=latin1))
    with pytest.raises(CommandError, match="the header row lacks number"):
        no_header = tmp_path / "no_header.csv"
        no_header.write_text("VPO-2026-000123,1984-03-15\n")
        await import_applications.handler(launch(settings), argparse.Namespace(file=no_header))


def test_command_line_unreadable_file_is_one_line_and_non_zero(tmp_path: Path) -> None:
    """The real `python -m bot` process: exit status and stderr as the operator sees them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "VIBER_"))}
    env["DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"
    result = subprocess.run(
        [sys.executable, "-m", "bot", "import-applications", str(tmp_path / "nope.csv")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {tmp_path / 'nope.csv'}: no such file"
    assert result.stdout == ""


def test_demo_csv_ships_with_the_package() -> None:
    parsed = parse_csv(DEMO_CSV.read_text(encoding="utf-8"), date(2026, 11, 24))
    assert parsed.problems == []
    assert {record.status for _, record in parsed.records} == {
        "submitted",
        "in_review",
        "needs_documents",
        "approved",
        "rejected",
        "paid",
        "suspended",
        "stopped",
        "extended",
    }
    # demo applications say so wherever a person sees them (numbers start with DEMO)
    assert all(record.number.printed.startswith("DEMO-") for _, record in parsed.records)


# -- files that are not what staff meant to load -----------------------------------------

HEADER = "number,birth_date,status,updated_at,note\n"


def row(i: int) -> str:
    return f"ZP-2026-{i:06d},1980-01-{1 + i % 28:02d},submitted,2026-11-20T10:00:00+02:00,\n"


async def run_import(settings: Any, path: Path) -> int:
    return await import_applications.handler(launch(settings), argparse.Namespace(file=path))


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (HEADER + row(1) + "ZP-2026-000002,\x00\x00,paid\n" + row(3), "line 3: holds a NUL byte"),
        (
            HEADER
            + row(1)
            + row(2)
            + 'ZP-2026-000003,1980-01-01,paid,2026-11-20T10:00:00Z,"oops\n'
            + row(4)
            + row(5),
            "line 4: a quoted cell that starts here is never closed",
        ),
        (HEADER + row(1) + "x" * 70_000 + "\n", "line 3: longer than 65536 bytes"),
        (HEADER + row(1) + "ZP-2026-000002,1980-01-01,paid,\xff\n", "line 3"),
    ],
    ids=["nul", "open-quote", "long-line", "not-utf8"],
)
async def test_a_broken_file_is_refused_whole_with_its_line(
    sqlite_url: str, tmp_path: Path, content: str, reason: str
) -> None:
    path = tmp_path / "broken.csv"
    path.write_bytes(content.encode("utf-8", "surrogateescape").replace(b"\xc3\xbf", b"\xff"))
    settings = make_settings(sqlite_url)
    with pytest.raises(CommandError, match=re.escape(reason)):
        await run_import(settings, path)
    app = await build_app(settings, migrate=False)
    try:
        async with app.db.transaction() as session:
            assert (await session.scalars(select(Application))).all() == []  # nothing loaded
    finally:
        await app.close()


async def test_a_file_over_the_size_limit_is_refused_before_reading(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "MAX_FILE_BYTES", 4096, raising=False)
    path = tmp_path / "big.csv"
    path.write_text(HEADER + "".join(row(i) for i in range(100)), encoding="utf-8")
    with pytest.raises(CommandError, match=r"big\.csv: is 0 MB; the limit is 0 MB"):
        await run_import(make_settings(sqlite_url), path)


def test_dev_zero_is_refused_at_once(tmp_path: Path) -> None:
    """It was read until the machine ran out of memory: the real process, bounded."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "VIBER_"))}
    env["DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"

    def limit_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (2 * 1024**3, 2 * 1024**3))

    result = subprocess.run(
        [sys.executable, "-m", "bot", "import-applications", "/dev/zero"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        preexec_fn=limit_memory,
    )
    assert result.returncode == 2, result.stderr[-500:]
    assert (
        result.stderr.strip()
        == "error: /dev/zero: is not a regular file; save the CSV to a file first"
    )


def test_reading_a_large_file_keeps_memory_flat(tmp_path: Path) -> None:
    """Both passes stream: memory per row is a fingerprint, not the row (was ~1 KB a row)."""
    rows = 20_000
    path = tmp_path / "large.csv"
    with path.open("w", encoding="utf-8") as handle:
        handle.write(HEADER)
        handle.writelines(row(i) for i in range(rows))
        handle.write(row(7))  # one repeat, found at the end
    today = date(2026, 12, 1)
    tracemalloc.start()
    try:
        with importer.open_lines(path) as lines:
            checked = importer.scan(lines, today)
        with importer.open_lines(path) as lines:
            loaded = sum(1 for _ in importer.records(lines, today, checked))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert loaded == rows
    assert [str(problem) for problem in checked.problems] == [
        f"line {rows + 2}: number: the same application is already on line 9"
    ]
    assert peak < 120 * rows, f"{peak / rows:.0f} bytes a row"
