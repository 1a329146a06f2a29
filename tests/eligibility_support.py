"""Helpers for the eligibility tests: the shipped demo data, personas, a questionnaire runner."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from bot.services.eligibility import engine
from bot.services.eligibility.answers import decode
from bot.services.eligibility.loader import load_folder
from bot.services.eligibility.model import Eligibility
from bot.settings import DEMO_DATA_DIR

DEMO = DEMO_DATA_DIR / "eligibility"
TODAY = dt.date(2026, 11, 24)  # the conftest clock's day


@cache
def demo() -> Eligibility:
    data, errors = load_folder(DEMO)
    assert not errors, [str(e) for e in errors]
    assert data is not None
    return data


def copy_demo(tmp_path: Path) -> Path:
    """A writable copy of the demo data folder (DATA_DIR layout); returns DATA_DIR."""
    target = tmp_path / "data"
    shutil.copytree(DEMO, target / "eligibility")
    return target


def outcomes(answers: Mapping[str, Any], on: dt.date = TODAY) -> dict[str, str]:
    data = demo()
    return {d.id: d.outcome.value for d in engine.decide(data, decode(data, answers), on)}


def run_questionnaire(
    person: Mapping[str, Any], on: dt.date = TODAY, data: Eligibility | None = None
) -> tuple[list[str], dict[str, str]]:
    """Answer only what the engine asks, from `person`; the questions asked and the outcomes.

    A question the person has no answer for fails the test: the engine asked
    something the persona's story did not need.
    """
    data = data or demo()
    raw: dict[str, Any] = {}
    asked: list[str] = []
    while (question := engine.next_question(data, decode(data, raw), on)) is not None:
        assert question.id not in asked, f"{question.id} asked twice"
        assert question.id in person, f"asked {question.id!r}, which this persona should not need"
        asked.append(question.id)
        raw[question.id] = person[question.id]
    decisions = engine.decide(data, decode(data, raw), on)
    return asked, {d.id: d.outcome.value for d in decisions}


PERSONAS: dict[str, dict[str, Any]] = {
    # 68, displaced, lives alone on a 6,000 UAH pension, allowance received for over a year
    "displaced_pensioner": {
        "idp_certificate": True,
        "idp_periods": "more",
        "children_count": 0,
        "disability_group": "none",
        "age": 68,
        "household_size": 1,
        "income_monthly": "6000",
        "utility_bills": "0",
        "large_assets": False,
    },
    # 24, raising a 3-month-old alone, 5,000 UAH a month, pays 2,500 UAH in bills
    "young_mother": {
        "idp_certificate": False,
        "children_count": 1,
        "youngest_child_birth_date": "2026-08-10",
        "single_parent": True,
        "child_with_disability": False,
        "disability_group": "none",
        "household_size": 2,
        "income_monthly": "5000",
        "utility_bills": "2500",
        "utility_debt": False,
        "large_assets": False,
    },
    # two parents and four children, 18,000 UAH a month
    "large_low_income_family": {
        "idp_certificate": False,
        "children_count": 4,
        "youngest_child_birth_date": "2019-05-01",
        "single_parent": False,
        "child_with_disability": False,
        "disability_group": "none",
        "household_size": 6,
        "income_monthly": "18000",
        "utility_bills": "4000",
        "utility_debt": False,
        "large_assets": False,
    },
    # 45, disability group II since childhood, lives alone on 3,000 UAH
    "person_with_disability": {
        "idp_certificate": False,
        "children_count": 0,
        "disability_group": "group_2",
        "disability_since_childhood": True,
        "age": 45,
        "household_size": 1,
        "income_monthly": "3000",
        "utility_bills": "1800",
        "utility_debt": False,
        "large_assets": False,
    },
    # 35, single, earns 40,000 UAH, modest bills
    "eligible_for_nothing": {
        "idp_certificate": False,
        "children_count": 0,
        "disability_group": "none",
        "household_size": 1,
        "income_monthly": "40000",
        "utility_bills": "3000",
    },
}
