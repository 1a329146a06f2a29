"""The demo programmes: boundaries, minimal questionnaires, amounts, reasons and dated versions."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bot.i18n import translator
from bot.services.eligibility import engine
from bot.services.eligibility.answers import decode
from bot.services.eligibility.loader import load_eligibility
from bot.services.eligibility.wording import amount_line, change_text, reason_text
from tests.eligibility_support import PERSONAS, TODAY, copy_demo, demo, outcomes, run_questionnaire

ELIGIBLE, NOT, UNDECIDED = "eligible", "not_eligible", "undecided"


def active(programme_id: str, on: dt.date = TODAY) -> Any:
    return next(a for a in demo().active(on) if a.id == programme_id)


def amount(programme_id: str, answers: dict[str, Any], on: dt.date = TODAY) -> Decimal | None:
    data = demo()
    return engine.amount(data, active(programme_id, on), decode(data, answers), on)


def changes_en(programme_id: str, answers: dict[str, Any], on: dt.date = TODAY) -> list[str]:
    data = demo()
    found = engine.changes(data, active(programme_id, on), decode(data, answers), on)
    return [text for r in found if (text := change_text(r, translator("en")))]


# -- minimality: five personas -------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "count", "eligible"),
    [
        ("displaced_pensioner", 9, {"idp_living_allowance"}),
        (
            "young_mother",
            11,
            {
                "birth_assistance",
                "single_parent_assistance",
                "basic_social_assistance",
                "housing_subsidy",
            },
        ),
        ("large_low_income_family", 11, {"basic_social_assistance", "housing_subsidy"}),
        (
            "person_with_disability",
            10,
            {"disability_since_childhood", "basic_social_assistance", "housing_subsidy"},
        ),
        ("eligible_for_nothing", 6, set()),
    ],
)
def test_persona_is_asked_only_what_decides_and_gets_the_right_result(
    persona: str, count: int, eligible: set[str]
) -> None:
    asked, result = run_questionnaire(PERSONAS[persona])
    assert len(asked) == count, asked
    assert {pid for pid, outcome in result.items() if outcome == ELIGIBLE} == eligible
    assert UNDECIDED not in result.values()  # stopped because everything was decided


def test_a_person_without_children_is_never_asked_about_children() -> None:
    asked, _ = run_questionnaire(PERSONAS["person_with_disability"])
    assert not {"youngest_child_birth_date", "single_parent", "child_with_disability"} & set(asked)


def test_the_check_stops_as_soon_as_every_programme_is_decided() -> None:
    data = demo()
    answers = dict(PERSONAS["eligible_for_nothing"])
    asked, _ = run_questionnaire(answers)
    # one answer fewer leaves something undecided, so the last question was needed
    partial = {q: answers[q] for q in asked[:-1]}
    assert engine.next_question(data, decode(data, partial), TODAY) is not None
    assert engine.next_question(data, decode(data, {q: answers[q] for q in asked}), TODAY) is None


# -- IDP living allowance --------------------------------------------------------------------

IDP_FAMILY = {  # third year on the allowance: the income test applies
    "idp_certificate": True,
    "idp_periods": "more",
    "children_count": 1,
    "disability_group": "none",
    "household_size": 3,
    "large_assets": False,
}


@pytest.mark.parametrize(
    ("income", "expected"),
    [("31137", ELIGIBLE), ("31140", NOT), ("31143", NOT)],  # per person 10,379 / 10,380 / 10,381
)
def test_idp_extension_income_cap_2026_is_four_subsistence_minimums(
    income: str, expected: str
) -> None:
    assert outcomes({**IDP_FAMILY, "income_monthly": income})["idp_living_allowance"] == expected


@pytest.mark.parametrize(
    ("income", "expected"), [("9443", ELIGIBLE), ("9444", NOT), ("9445", NOT)]
)
def test_idp_income_cap_was_9444_in_2025(income: str, expected: str) -> None:
    answers = {**IDP_FAMILY, "household_size": 1, "children_count": 0, "age": 61}
    on = dt.date(2025, 6, 1)
    assert outcomes({**answers, "income_monthly": income}, on)["idp_living_allowance"] == expected


def test_idp_why_not_names_the_income_that_would_change_it() -> None:
    answers = {**IDP_FAMILY, "household_size": 1, "children_count": 0, "age": 61}
    answers["income_monthly"] = "12000"
    hints = changes_en("idp_living_allowance", answers, dt.date(2025, 6, 1))
    assert hints[0] == "if your monthly income per person were below 9,444 UAH"
    assert "if your disability group were one of: “Group I”, “Group II”" in hints


@pytest.mark.parametrize(
    ("periods", "expected"), [("none", ELIGIBLE), ("one", ELIGIBLE), ("two", NOT), ("more", NOT)]
)
def test_idp_first_two_six_month_periods_need_no_income_test(periods: str, expected: str) -> None:
    answers = {
        "idp_certificate": True,
        "idp_periods": periods,
        "large_assets": False,
        "children_count": 0,
        "disability_group": "none",
        "age": 40,
        "household_size": 1,
        "income_monthly": "50000",
    }
    assert outcomes(answers)["idp_living_allowance"] == expected


def test_idp_disability_groups_one_and_two_are_extended_without_income_test() -> None:
    base = {**IDP_FAMILY, "children_count": 0, "household_size": 1, "income_monthly": "90000"}
    assert outcomes({**base, "disability_group": "group_2"})["idp_living_allowance"] == ELIGIBLE
    assert (
        outcomes({**base, "disability_group": "group_3", "age": 40})["idp_living_allowance"] == NOT
    )


def test_idp_amount_counts_children_adults_and_disability() -> None:
    answers = {**IDP_FAMILY, "income_monthly": "9000", "disability_group": "group_3"}
    # one child 3,000 + two adults 2,000 each + the applicant's disability 1,000
    assert amount("idp_living_allowance", answers) == Decimal(8000)


def test_idp_large_assets_rule_it_out_with_a_reason() -> None:
    answers = {**IDP_FAMILY, "idp_periods": "one", "large_assets": True}
    assert outcomes(answers)["idp_living_allowance"] == NOT
    data = demo()
    found = engine.reasons(data, active("idp_living_allowance"), decode(data, answers), TODAY)
    assert [reason_text(r, translator("en")) for r in found] == [
        "The allowance is not paid if anyone in the family has a deposit over 100,000 UAH or "
        "bought a home, land, a car or currency for more than 100,000 UAH."
    ]
    assert changes_en("idp_living_allowance", answers) == [
        "if your answer about “deposit or purchases over 100,000 UAH” were “No”"
    ]


# -- Basic Social Assistance -----------------------------------------------------------------

COUPLE_WITH_TODDLER = {
    "children_count": 1,
    "household_size": 3,
    "large_assets": False,
}


def test_bsa_matches_the_ministrys_worked_example() -> None:
    # mother + father + 2-year-old: 4,500 + 4,500 + 3,150 = 12,150; income 7,020 → 5,130
    answers = {**COUPLE_WITH_TODDLER, "income_monthly": "7020"}
    assert outcomes(answers)["basic_social_assistance"] == ELIGIBLE
    assert amount("basic_social_assistance", answers) == Decimal(5130)


@pytest.mark.parametrize(
    ("income", "expected"), [("12149", ELIGIBLE), ("12150", NOT), ("12151", NOT)]
)
def test_bsa_income_threshold_is_the_family_level(income: str, expected: str) -> None:
    answers = {**COUPLE_WITH_TODDLER, "income_monthly": income}
    assert outcomes(answers)["basic_social_assistance"] == expected


def test_bsa_why_not_gives_the_family_level() -> None:
    answers = {**COUPLE_WITH_TODDLER, "income_monthly": "20000"}
    assert changes_en("basic_social_assistance", answers) == [
        "if your family's average monthly income were below 12,150 UAH"
    ]


def test_bsa_assets_do_not_rule_out_large_families() -> None:
    rich = {"large_assets": True, "income_monthly": "1000"}
    assert (
        outcomes({**rich, "children_count": 2, "household_size": 4})["basic_social_assistance"]
        == NOT
    )
    assert (
        outcomes({**rich, "children_count": 3, "household_size": 5})["basic_social_assistance"]
        == ELIGIBLE
    )


def test_bsa_ends_with_the_pilot() -> None:
    assert "basic_social_assistance" not in outcomes({}, dt.date(2027, 7, 1))
    assert "basic_social_assistance" not in outcomes({}, dt.date(2025, 9, 30))


# -- birth assistance ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("born", "expected"),
    [("2025-11-25", ELIGIBLE), ("2025-11-24", NOT), ("2026-11-24", ELIGIBLE)],
)
def test_birth_assistance_within_12_months_of_the_birth(born: str, expected: str) -> None:
    answers = {"children_count": 1, "youngest_child_birth_date": born}
    assert outcomes(answers)["birth_assistance"] == expected


def test_birth_assistance_switched_to_50000_on_1_january_2026() -> None:
    child = {"children_count": 1, "youngest_child_birth_date": "2025-12-20"}
    assert amount("birth_assistance", child, dt.date(2025, 12, 31)) == Decimal(41280)
    assert active("birth_assistance", dt.date(2025, 12, 31)).version.valid_to == dt.date(
        2025, 12, 31
    )
    # from 1 January 2026 the new version is in force; a child born before keeps the old sum
    assert amount("birth_assistance", child, dt.date(2026, 1, 1)) == Decimal(41280)
    newborn = {"children_count": 1, "youngest_child_birth_date": "2026-01-01"}
    assert amount("birth_assistance", newborn, dt.date(2026, 1, 1)) == Decimal(50000)


def test_no_children_means_no_birth_assistance_without_asking_the_date() -> None:
    data = demo()
    decided = engine.decide(data, decode(data, {"children_count": 0}), TODAY)
    assert next(d for d in decided if d.id == "birth_assistance").outcome.value == NOT


# -- housing subsidy -------------------------------------------------------------------------

ALONE_ON_TWO_MINIMUMS = {  # 6,418 UAH = 2 × 3,209: the mandatory share is 15 %, i.e. 962.70
    "household_size": 1,
    "income_monthly": "6418",
    "utility_debt": False,
    "large_assets": False,
}


@pytest.mark.parametrize(
    ("bills", "expected"), [("962.70", NOT), ("963", ELIGIBLE), ("961.70", NOT)]
)
def test_subsidy_when_bills_exceed_the_mandatory_payment(bills: str, expected: str) -> None:
    answers = {**ALONE_ON_TWO_MINIMUMS, "utility_bills": bills}
    assert outcomes(answers)["housing_subsidy"] == expected


def test_subsidy_amount_and_debt() -> None:
    answers = {**ALONE_ON_TWO_MINIMUMS, "utility_bills": "1962.70"}
    assert amount("housing_subsidy", answers) == Decimal(1000)
    assert outcomes({**answers, "utility_debt": True})["housing_subsidy"] == NOT


# -- disability since childhood --------------------------------------------------------------

DISABLED_SINCE_CHILDHOOD = {
    "children_count": 0,
    "disability_group": "group_2",
    "disability_since_childhood": True,
}


@pytest.mark.parametrize(("age", "expected"), [(17, NOT), (18, ELIGIBLE)])
def test_disability_since_childhood_adult_route_starts_at_18(age: int, expected: str) -> None:
    answers = {**DISABLED_SINCE_CHILDHOOD, "age": age}
    assert outcomes(answers)["disability_since_childhood"] == expected


def test_at_17_the_bot_says_what_would_change_it() -> None:
    assert changes_en("disability_since_childhood", {**DISABLED_SINCE_CHILDHOOD, "age": 17}) == [
        "if your age were 18 or more"
    ]


def test_disability_since_childhood_for_a_parent_of_a_child_with_disability() -> None:
    answers = {"children_count": 2, "child_with_disability": True, "disability_group": "none"}
    assert outcomes(answers)["disability_since_childhood"] == ELIGIBLE


def test_disability_amount_follows_the_subsistence_minimum() -> None:
    answers = {**DISABLED_SINCE_CHILDHOOD, "age": 30}
    assert amount("disability_since_childhood", answers, dt.date(2025, 6, 1)) == Decimal(2361)
    assert amount("disability_since_childhood", answers) == Decimal(2595)


# -- single parents --------------------------------------------------------------------------

SINGLE_MOTHER_OF_TWO = {"children_count": 2, "single_parent": True, "household_size": 3}


@pytest.mark.parametrize(  # per person 3,511 / 3,512 / 3,513 against 3,512 (child 6–18, 2026)
    ("income", "expected"), [("10533", ELIGIBLE), ("10536", NOT), ("10539", NOT)]
)
def test_single_parent_income_per_person_below_child_minimum(income: str, expected: str) -> None:
    answers = {**SINGLE_MOTHER_OF_TWO, "income_monthly": income}
    assert outcomes(answers)["single_parent_assistance"] == expected


def test_single_parent_amount_and_not_single() -> None:
    answers = {**SINGLE_MOTHER_OF_TWO, "income_monthly": "6000"}
    assert amount("single_parent_assistance", answers) == Decimal(2 * (3512 - 2000))
    assert outcomes({**answers, "single_parent": False})["single_parent_assistance"] == NOT


# -- wording ---------------------------------------------------------------------------------


def test_amounts_are_formatted_per_language() -> None:
    data = demo()
    answers = decode(data, {**COUPLE_WITH_TODDLER, "income_monthly": "7020"})
    bsa = active("basic_social_assistance")
    en = amount_line(data, bsa, answers, TODAY, translator("en"))
    uk = amount_line(data, bsa, answers, TODAY, translator("uk"))
    assert en == "About 5,130 UAH a month"
    assert uk is not None and re.fullmatch(r"Близько 5\s130 грн на місяць", uk)


def test_ukrainian_change_hint() -> None:
    data = demo()
    answers = decode(data, {**COUPLE_WITH_TODDLER, "income_monthly": "20000"})
    found = engine.changes(data, active("basic_social_assistance"), answers, TODAY)
    text = change_text(found[0], translator("uk"))
    assert text is not None
    assert re.fullmatch(
        r"якби показник «середньомісячний дохід сім'ї» був меншим за 12\s150 грн", text
    )


# -- versions that start later ---------------------------------------------------------------


def test_a_version_starting_next_year_takes_over_on_its_date(tmp_path: Path) -> None:
    data_dir = copy_demo(tmp_path)
    file = data_dir / "eligibility" / "programmes" / "birth_assistance.yaml"
    text = file.read_text(encoding="utf-8")
    # staff end the 2026 version on 31 December and add next year's figure
    text = text.replace(
        "  - valid_from: 2026-01-01\n", "  - valid_from: 2026-01-01\n    valid_to: 2026-12-31\n"
    )
    text += """  - valid_from: 2027-01-01
    legal_act: {uk: Закон (зміни 2027 року), en: Law (2027 amendments)}
    amount:
      value: 60000
      period: once
      text: {uk: Одноразово., en: At once.}
      checked: 2026-11-22
      source: https://example.org/2027
    eligibility: *birth_rule
"""
    file.write_text(text, encoding="utf-8")
    data, errors = load_eligibility(data_dir)
    assert errors == [] and data is not None
    newborn = decode(data, {"children_count": 1, "youngest_child_birth_date": "2026-12-15"})

    def sum_on(day: dt.date) -> Decimal | None:
        programme = next(a for a in data.active(day) if a.id == "birth_assistance")
        return engine.amount(data, programme, newborn, day)

    assert sum_on(dt.date(2026, 12, 31)) == Decimal(50000)
    assert sum_on(dt.date(2027, 1, 1)) == Decimal(60000)
