"""Helpers for the eligibility tests: the shipped demo data, personas, a questionnaire runner."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from bot.services.eligibility import rules
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
    return {d.id: d.outcome.value for d in rules.decide(data, decode(data, answers), on)}


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
    while (question := rules.next_question(data, decode(data, raw), on)) is not None:
        assert question.id not in asked, f"{question.id} asked twice"
        assert question.id in person, f"asked {question.id!r}, which this persona should not need"
        asked.append(question.id)
        raw[question.id] = person[question.id]
    decisions = rules.decide(data, decode(data, raw), on)
    return asked, {d.id: d.outcome.value for d in decisions}


# The seven personas of issue #12. Each one's expected programmes and amounts, with the
# worked example or official explainer they come from, are in tests/test_eligibility_personas.py.
PERSONAS: dict[str, dict[str, Any]] = {
    # 68, displaced, receiving the allowance for over 6 months, lives alone on a 4,500 UAH pension
    "idp_pensioner": {
        "idp_certificate": True,
        "idp_received": "over_6",
        "children_count": 0,
        "age_band": "age_65_plus",
        "disability_group": "none",
        "pension": True,
        "carer": False,
        "household_size": 1,
        "income_monthly": "4500",
        "utility_bills": "0",
        "big_purchase": False,
        "deposit_over_100k": False,
        "home_damaged": False,
    },
    # displaced, raising two children under 6 alone (the youngest is 2½), no income, no bills
    # (lives in a shelter); the allowance has been received for over 6 months
    "displaced_mother": {
        "idp_certificate": True,
        "idp_received": "over_6",
        "children_count": 2,
        "children_under_6": 2,
        "youngest_child_birth_date": "2024-05-10",
        "single_parent": True,
        "survivor_pension": False,
        "child_with_disability": False,
        "age_band": "age_18_59",
        "disability_group": "none",
        "carer": False,
        "household_size": 3,
        "income_monthly": "0",
        "utility_bills": "0",
        "big_purchase": False,
        "deposit_over_100k": False,
        "home_damaged": False,
    },
    # 40, disability group II established as an adult, no pension (no insurance record),
    # employed, lives alone on 12,000 UAH, pays 3,000 UAH in bills
    "disability_group_2_employed": {
        "idp_certificate": False,
        "children_count": 0,
        "age_band": "age_18_59",
        "disability_group": "group_2",
        "disability_since_childhood": False,
        "pension": False,
        "carer": False,
        "household_size": 1,
        "income_monthly": "12000",
        "utility_bills": "3000",
        "home_damaged": False,
    },
    # two working parents and two school-age children, 9,000 UAH a month, renting: 4,000 UAH
    # a month for housing and utilities
    "family_of_four_renting": {
        "idp_certificate": False,
        "children_count": 2,
        "children_under_6": 0,
        "single_parent": False,
        "child_with_disability": False,
        "age_band": "age_18_59",
        "disability_group": "none",
        "carer": False,
        "household_size": 4,
        "income_monthly": "9000",
        "work": "works",
        "utility_bills": "4000",
        "utility_debt": False,
        "abroad_60_days": False,
        "big_purchase": False,
        "deposit_over_100k": False,
        "home_damaged": False,
    },
    # 25, employed, 25,000 UAH, not displaced, lives alone
    "young_employed": {
        "idp_certificate": False,
        "children_count": 0,
        "age_band": "age_18_59",
        "disability_group": "none",
        "carer": False,
        "household_size": 1,
        "income_monthly": "25000",
        "utility_bills": "3000",
        "home_damaged": False,
    },
    # 45, does not work, cares for her mother (disability group I) who lives with her; the
    # family's income is the mother's 6,000 UAH pension; 2,500 UAH in bills
    "carer_of_parent": {
        "idp_certificate": False,
        "children_count": 0,
        "age_band": "age_18_59",
        "disability_group": "none",
        "carer": True,
        "household_size": 2,
        "income_monthly": "6000",
        "utility_bills": "2500",
        "utility_debt": False,
        "abroad_60_days": False,
        "big_purchase": False,
        "deposit_over_100k": False,
        "home_damaged": False,
    },
    # a couple whose own house was damaged by shelling; 15,000 UAH a month, 2,000 UAH in bills
    "house_damaged": {
        "idp_certificate": False,
        "children_count": 0,
        "age_band": "age_18_59",
        "disability_group": "none",
        "carer": False,
        "household_size": 2,
        "income_monthly": "15000",
        "utility_bills": "2000",
        "home_damaged": True,
    },
}
