"""Application numbers and birth dates as people type them; redaction in logs."""

from __future__ import annotations

import re
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.logs import redact
from bot.services.status.numbers import masked, parse_birth_date, parse_number

TODAY = date(2026, 11, 24)


@pytest.mark.parametrize(
    "typed",
    [
        "VPO-2026-000123",
        "vpo-2026-000123",
        "  VPO 2026 000123 ",
        "VPO–2026–000123",  # en dash
        "VPO—2026—000123",  # em dash
        "VPO‐2026‐000123",  # hyphen
        "VPO−2026−000123",  # minus sign
        "VPO - 2026 - 000123",
        "№ VPO-2026-000123",
        "VPO2026000123",
        "ВПО-2026-000123",  # the Ukrainian abbreviation itself
        "впо 2026 000123",
        "VРО-2026-000123",  # Latin V, Cyrillic Р and О that look Latin
        "ＶＰＯ－２０２６－０００１２３",  # full-width
    ],
)
def test_number_variants_are_one_application(typed: str) -> None:
    parsed = parse_number(typed)
    assert parsed is not None, typed
    assert parsed.key == "VPO2026000123"


def test_printed_form_keeps_the_groups() -> None:
    parsed = parse_number("vpo 2026 – 000123")
    assert parsed is not None
    assert parsed.printed == "VPO-2026-000123"
    assert masked(parsed.printed) == "…0123"


@pytest.mark.parametrize("typed", ["", "hello", "12345", "VPO-2026-000123!", "A" * 30, "VPO--"])
def test_not_a_number(typed: str) -> None:
    assert parse_number(typed) is None


@given(st.text(max_size=40))
def test_any_text_is_rejected_or_canonical(text: str) -> None:
    parsed = parse_number(text)
    if parsed is not None:
        assert re.fullmatch("[A-Z0-9]{6,24}", parsed.key)
        assert parse_number(parsed.printed) == parsed


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("15.03.1984", date(1984, 3, 15)),
        ("5.3.1984", date(1984, 3, 5)),
        ("15/03/1984", date(1984, 3, 15)),
        ("1984-03-15", date(1984, 3, 15)),
        (" 15 . 03 . 1984 ", date(1984, 3, 15)),
        ("1984–03–15", date(1984, 3, 15)),
    ],
)
def test_birth_dates(typed: str, expected: date) -> None:
    assert parse_birth_date(typed, TODAY) == expected


@pytest.mark.parametrize(
    "typed", ["31.02.1984", "15.03.84", "1984/03/15x", "yesterday", "01.01.2030", "01.01.1850"]
)
def test_bad_birth_dates(typed: str) -> None:
    assert parse_birth_date(typed, TODAY) is None


def test_log_redaction_covers_numbers_and_birth_dates() -> None:
    line = redact("lookup VPO-2026-000123 vpo-2026-000124 born 1984-03-15 or 15.03.1984")
    assert "000123" not in line and "000124" not in line
    assert "1984" not in line
