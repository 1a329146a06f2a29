"""`python -m bot appointments --office ID --date YYYY-MM-DD [--csv]`."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import shutil
from pathlib import Path

import pytest

from bot.app import main
from bot.services.booking import appointments as booking
from bot.services.booking.loader import load_catalog
from bot.settings import DEMO_DATA_DIR
from storage.db import Database
from tests.booking_support import NOW, book, kyiv, make_people

OFFICE = "kyiv-cnap-obolon"


def last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


async def seed(url: str) -> list[str]:
    cat, _ = load_catalog(DEMO_DATA_DIR)
    db = Database(url)
    try:
        people = await make_people(db, 4)
        late = await book(db, cat, people[0], kyiv(2026, 11, 25, 10, 20), office_id=OFFICE)
        early = await book(db, cat, people[1], kyiv(2026, 11, 25, 9), office_id=OFFICE)
        gone = await book(db, cat, people[2], kyiv(2026, 11, 25, 11), office_id=OFFICE)
        await book(db, cat, people[3], kyiv(2026, 11, 26, 9), office_id=OFFICE)  # another day
        assert gone.appointment is not None
        async with db.transaction() as session:
            await booking.cancel(session, cat, gone.appointment.id, people[2], NOW)
        assert early.appointment is not None and late.appointment is not None
        return [early.appointment.code, late.appointment.code]
    finally:
        await db.dispose()


def test_appointments_lists_and_exports_one_day(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    early, late = asyncio.run(seed(sqlite_url))
    monkeypatch.setenv("DATABASE_URL", sqlite_url)

    assert main(["appointments", "--office", OFFICE, "--date", "2026-11-25"]) == 0
    out = capsys.readouterr().out
    assert "2 appointment(s)" in out
    assert out.index(f"09:00  {early}") < out.index(f"10:20  {late}")

    assert main(["appointments", "--office", OFFICE, "--date", "2026-11-25", "--csv"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == ["time", "code", "service", "service_uk", "state"]
    assert [(r[0], r[1], r[4]) for r in rows[1:]] == [
        ("09:00", early, "booked"),
        ("10:20", late, "booked"),
    ]
    assert rows[1][2] == "IDP certificate and living allowance"


def test_appointments_rejects_bad_input_in_one_line(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    assert main(["appointments", "--office", OFFICE, "--date", "25.11.2026"]) == 2
    assert last_line(capsys.readouterr().err).startswith("error: --date '25.11.2026'")
    assert main(["appointments", "--office", "nowhere", "--date", "2026-11-25"]) == 2
    err = last_line(capsys.readouterr().err)  # earlier lines: the log, not the error
    assert err.startswith("error: unknown office 'nowhere'; known offices: bila-tserkva-cnap")


FORMULAS = {
    "en": '=HYPERLINK("http://127.0.0.1/x","Open")',
    "uk": "@SUM(1+1)",
}


def test_csv_export_neutralises_spreadsheet_formulas(
    sqlite_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A service name that a spreadsheet would run as a formula comes out as text (OWASP)."""
    data = tmp_path / "data"
    shutil.copytree(DEMO_DATA_DIR, data)
    services = data / "offices" / "services.yaml"
    text = services.read_text(encoding="utf-8")
    for language, original in (
        ("en", "en: IDP certificate and living allowance"),
        ("uk", "uk: Довідка ВПО і допомога на проживання"),
    ):
        assert original in text
        text = text.replace(original, f"{language}: {json.dumps(FORMULAS[language])}", 1)
    services.write_text(text, encoding="utf-8")

    async def seed_formula() -> None:
        cat, errors = load_catalog(data)
        assert not errors and cat is not None
        db = Database(sqlite_url)
        try:
            [person] = await make_people(db, 1)
            await book(db, cat, person, kyiv(2026, 11, 25, 9), office_id=OFFICE)
        finally:
            await db.dispose()

    asyncio.run(seed_formula())
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("DATA_DIR", str(data))
    assert main(["appointments", "--office", OFFICE, "--date", "2026-11-25", "--csv"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[1][2] == "'" + FORMULAS["en"]
    assert rows[1][3] == "'" + FORMULAS["uk"]
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


@pytest.mark.parametrize(
    ("cell", "shown"),
    [
        ("=1+1", "'=1+1"),
        ("+380671234567", "'+380671234567"),
        ("-5", "'-5"),
        ("@cmd", "'@cmd"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("09:00", "09:00"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_safe_cell(cell: str, shown: str) -> None:
    from bot.spreadsheet import safe_cell

    assert safe_cell(cell) == shown


async def fill_the_demo_office(url: str) -> None:
    cat, _ = load_catalog(DEMO_DATA_DIR)
    db = Database(url)
    try:
        async with db.transaction() as session:
            assert await booking.block_seats(session, cat, "pavlohrad-cnap", NOW, 3) > 0
    finally:
        await db.dispose()


def test_a_fully_booked_office_looks_fully_booked_to_staff(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The demo keeps every place of one office for walk-ins: staff must see it full."""
    asyncio.run(fill_the_demo_office(sqlite_url))
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    assert main(["appointments", "--office", "pavlohrad-cnap", "--date", "2026-11-25"]) == 0
    out = capsys.readouterr().out
    assert "0 appointment(s)" in out and "fully booked" in out
    assert "kept for walk-ins" in out and "0 free" in out
