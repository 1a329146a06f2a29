"""The demo programmes: boundaries, minimal questionnaires, amounts, reasons and dated versions."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bot.i18n import translator
from bot.services.eligibility import rules
from bot.services.eligibility.answers import decode
from bot.services.eligibility.loader import load_eligibility
from bot.services.eligibility.model import is_official
from bot.services.eligibility.wording import amount_line, change_text
from tests.eligibility_support import PERSONAS, TODAY, copy_demo, demo, outcomes, run_questionnaire

ELIGIBLE, NOT, UNDECIDED = "eligible", "not_eligible", "undecided"


def active(programme_id: str, on: dt.date = TODAY) -> Any:
    return next(a for a in demo().active(on) if a.id == programme_id)


def amount(programme_id: str, answers: dict[str, Any], on: dt.date = TODAY) -> Decimal | None:
    data = demo()
    return rules.amount(data, active(programme_id, on), decode(data, answers), on)


def changes_en(programme_id: str, answers: dict[str, Any], on: dt.date = TODAY) -> list[str]:
    data = demo()
    found = rules.changes(data, active(programme_id, on), decode(data, answers), on)
    return [text for r in found if (text := change_text(r, translator("en")))]


# -- the questionnaire stops as soon as everything is decided ---------------------------------


def test_the_check_stops_as_soon_as_every_programme_is_decided() -> None:
    data = demo()
    answers = dict(PERSONAS["young_employed"])
    asked, _ = run_questionnaire(answers)
    # one answer fewer leaves something undecided, so the last question was needed
    partial = {q: answers[q] for q in asked[:-1]}
    assert rules.next_question(data, decode(data, partial), TODAY) is not None
    assert rules.next_question(data, decode(data, {q: answers[q] for q in asked}), TODAY) is None


def test_no_children_means_the_split_by_age_is_never_asked() -> None:
    data = demo()
    answers = {"idp_certificate": False, "children_count": 0}
    needed = {q.id for q in rules.needed_questions(data, decode(data, answers), TODAY)}
    assert "children_under_6" not in needed and "youngest_child_birth_date" not in needed


# -- IDP living allowance (CMU No. 332 as amended by No. 94 of 26.01.2024) ---------------------

IDP = {"idp_certificate": True, "deposit_over_100k": False, "big_purchase": False}
IDP_ADULT_ALONE = {
    **IDP,
    "children_count": 0,
    "disability_group": "none",
    "age_band": "age_18_59",
    "pension": False,
    "carer": False,
    "household_size": 1,
    "income_monthly": "0",
}


@pytest.mark.parametrize(
    ("received", "expected"), [("none", ELIGIBLE), ("under_6", ELIGIBLE), ("over_6", NOT)]
)
def test_idp_only_the_first_six_months_are_for_everyone(received: str, expected: str) -> None:
    # was: "two 6-month periods" (12 months) for everyone
    answers = {**IDP_ADULT_ALONE, "idp_received": received}
    assert outcomes(answers)["idp_living_allowance"] == expected


IDP_FAMILY = {  # after the first 6 months: families with children pass the income test
    **IDP,
    "idp_received": "over_6",
    "children_count": 1,
    "child_with_disability": False,
    "disability_group": "none",
    "household_size": 3,
}


@pytest.mark.parametrize(
    ("income", "expected"),
    [("31137", ELIGIBLE), ("31140", NOT), ("31143", NOT)],  # per person 10,379 / 10,380 / 10,381
)
def test_idp_extension_income_cap_2026_is_four_subsistence_minimums(
    income: str, expected: str
) -> None:
    assert outcomes({**IDP_FAMILY, "income_monthly": income})["idp_living_allowance"] == expected


@pytest.mark.parametrize(("income", "expected"), [("9443", ELIGIBLE), ("9444", NOT)])
def test_idp_income_cap_was_9444_in_2025(income: str, expected: str) -> None:
    answers = {**IDP_ADULT_ALONE, "idp_received": "over_6", "age_band": "age_60_64"}
    on = dt.date(2025, 6, 1)
    assert outcomes({**answers, "income_monthly": income}, on)["idp_living_allowance"] == expected


def test_idp_groups_one_and_two_are_extended_without_income_test() -> None:
    answers = {**IDP_ADULT_ALONE, "idp_received": "over_6", "income_monthly": "50000"}
    assert outcomes({**answers, "disability_group": "group_2"})["idp_living_allowance"] == ELIGIBLE
    assert outcomes({**answers, "disability_group": "group_3"})["idp_living_allowance"] == NOT


def test_idp_why_not_says_what_would_change_it_in_plain_words() -> None:
    answers = {
        **IDP_ADULT_ALONE,
        "idp_received": "over_6",
        "age_band": "age_60_64",
        "income_monthly": "12000",
    }
    hints = changes_en("idp_living_allowance", answers)
    assert hints[0] == "if your family's income per person were below 10,380 UAH"
    assert "if you had disability group I or II" in hints
    assert not any("answer about" in hint or "“" in hint for hint in hints)


def test_idp_purchase_limit_is_100000_for_a_home_land_car_or_currency() -> None:
    answers = {**IDP_ADULT_ALONE, "idp_received": "none", "big_purchase": True}
    assert outcomes({**answers, "purchase_over_100k": False})["idp_living_allowance"] == ELIGIBLE
    assert outcomes({**answers, "purchase_over_100k": True})["idp_living_allowance"] == NOT


def test_idp_amount_counts_children_adults_and_disability() -> None:
    answers = {**IDP_FAMILY, "idp_received": "none", "disability_group": "group_3"}
    # one child 3,000 + two adults 2,000 each + 1,000 more for the adult with a disability
    assert amount("idp_living_allowance", answers) == Decimal(8000)


def test_idp_unconfirmed_children_payment_is_not_stated_as_fact() -> None:
    version = active("idp_living_allowance").version
    assert version.check is not None and "not officially confirmed" in version.check.en
    assert all(v.valid_from != dt.date(2026, 2, 1) for v in demo_versions("idp_living_allowance"))


# -- single mothers (Law "On State Assistance to Families with Children") ----------------------

SINGLE_MOTHER = {"children_count": 1, "single_parent": True, "survivor_pension": False}


def test_single_mother_uses_the_minimum_for_the_childs_age() -> None:
    # the review's example: a mother with a 3-year-old and 6,000 UAH family income (3,000
    # per person) is NOT eligible: 2,817 − 3,000 < 0 (was "up to 512 UAH")
    toddler = {**SINGLE_MOTHER, "children_under_6": 1, "household_size": 2}
    assert outcomes({**toddler, "income_monthly": "6000"})["single_parent_assistance"] == NOT
    assert amount("single_parent_assistance", {**toddler, "income_monthly": "4000"}) == Decimal(
        2817 - 2000
    )
    pupil = {**SINGLE_MOTHER, "children_under_6": 0, "household_size": 2}
    assert amount("single_parent_assistance", {**pupil, "income_monthly": "6000"}) == Decimal(
        3512 - 3000
    )


def test_single_mother_not_paid_with_a_survivors_pension() -> None:
    answers = {
        **SINGLE_MOTHER,
        "children_under_6": 1,
        "household_size": 2,
        "income_monthly": "0",
        "survivor_pension": True,
    }
    assert outcomes(answers)["single_parent_assistance"] == NOT


def test_single_mother_official_name() -> None:
    title = active("single_parent_assistance").programme.title
    assert title.uk == "Допомога на дітей одиноким матерям"


# -- Basic Social Assistance (CMU No. 371, No. 986) --------------------------------------------

COUPLE_WITH_TODDLER = {
    "children_count": 1,
    "household_size": 3,
    "deposit_over_100k": False,
    "big_purchase": False,
}


def test_bsa_matches_the_ministrys_worked_example() -> None:
    # mother + father + 2-year-old: 4,500 + 4,500 + 3,150 = 12,150; income 7,020 → 5,130
    answers = {**COUPLE_WITH_TODDLER, "income_monthly": "7020"}
    assert outcomes(answers)["basic_social_assistance"] == ELIGIBLE
    assert amount("basic_social_assistance", answers) == Decimal(5130)


def test_bsa_is_a_separate_pilot_from_stage_two() -> None:
    programme = active("basic_social_assistance").programme
    assert "малозабезпеченим" not in programme.title.uk
    assert "separate" in programme.summary.en
    assert "basic_social_assistance" not in outcomes({}, dt.date(2025, 11, 2))
    assert "basic_social_assistance" in outcomes({}, dt.date(2025, 11, 3))
    assert "basic_social_assistance" not in outcomes({}, dt.date(2027, 7, 1))


def test_bsa_why_not_gives_the_family_level() -> None:
    answers = {**COUPLE_WITH_TODDLER, "income_monthly": "20000"}
    assert changes_en("basic_social_assistance", answers) == [
        "if your family's average monthly income were below 12,150 UAH"
    ]


# -- low-income families (Law No. 1768-III, CMU No. 250) ---------------------------------------

WORKING_COUPLE_TWO_PUPILS = {
    "children_count": 2,
    "children_under_6": 0,
    "age_band": "age_18_59",
    "disability_group": "none",
    "household_size": 4,
    "work": "works",
    "deposit_over_100k": False,
    "big_purchase": False,
}


@pytest.mark.parametrize(
    ("income", "expected"), [("14178", ELIGIBLE), ("14179", NOT)]
)  # level 2 × 1,996.80 + 2 × 5,092.40 = 14,178.40
def test_low_income_level_is_the_sum_of_guaranteed_levels(income: str, expected: str) -> None:
    answers = {**WORKING_COUPLE_TWO_PUPILS, "income_monthly": income}
    assert outcomes(answers)["low_income_assistance"] == expected


def test_low_income_purchases_do_not_rule_out_large_families() -> None:
    rich = {**WORKING_COUPLE_TWO_PUPILS, "income_monthly": "1000", "big_purchase": True}
    assert outcomes(rich)["low_income_assistance"] == NOT
    large = {**rich, "children_count": 3, "household_size": 5}
    assert outcomes(large)["low_income_assistance"] == ELIGIBLE


# -- persons without a pension and persons with disabilities (CMU No. 261) ---------------------

ADULT_DISABLED = {
    "age_band": "age_18_59",
    "disability_since_childhood": False,
    "pension": False,
    "household_size": 1,
}


def test_cmu_261_group_one_regardless_of_income_others_below_the_minimum() -> None:
    rich = {**ADULT_DISABLED, "income_monthly": "20000"}
    assert outcomes({**rich, "disability_group": "group_1"})["no_pension_assistance"] == ELIGIBLE
    assert outcomes({**rich, "disability_group": "group_2"})["no_pension_assistance"] == NOT
    poor = {**ADULT_DISABLED, "income_monthly": "2000", "disability_group": "group_2"}
    assert outcomes(poor)["no_pension_assistance"] == ELIGIBLE
    assert outcomes({**poor, "pension": True})["no_pension_assistance"] == NOT


def test_cmu_261_for_people_aged_65_without_a_pension() -> None:
    old = {
        "age_band": "age_65_plus",
        "disability_group": "none",
        "pension": False,
        "household_size": 1,
    }
    assert outcomes({**old, "income_monthly": "2000"})["no_pension_assistance"] == ELIGIBLE
    assert outcomes({**old, "income_monthly": "2595"})["no_pension_assistance"] == NOT


# -- birth assistance --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("born", "expected"),
    [("2025-11-25", ELIGIBLE), ("2025-11-24", NOT), ("2026-11-24", ELIGIBLE)],
)
def test_birth_assistance_within_12_months_of_the_birth(born: str, expected: str) -> None:
    answers = {"children_count": 1, "children_under_6": 1, "youngest_child_birth_date": born}
    assert outcomes(answers)["birth_assistance"] == expected


def test_birth_assistance_switched_to_50000_on_1_january_2026() -> None:
    child = {"children_count": 1, "children_under_6": 1, "youngest_child_birth_date": "2025-12-20"}
    assert amount("birth_assistance", child, dt.date(2025, 12, 31)) == Decimal(41280)
    assert amount("birth_assistance", child, dt.date(2026, 1, 1)) == Decimal(41280)
    newborn = {**child, "youngest_child_birth_date": "2026-01-01"}
    assert amount("birth_assistance", newborn, dt.date(2026, 1, 1)) == Decimal(50000)
    assert "4681-IX" in active("birth_assistance").version.legal_act.en


# -- housing subsidy ---------------------------------------------------------------------------

ALONE_ON_TWO_MINIMUMS = {  # 6,418 UAH = 2 × 3,209: the mandatory share is 15 %, i.e. 962.70
    "household_size": 1,
    "income_monthly": "6418",
    "utility_debt": False,
    "abroad_60_days": False,
    "big_purchase": False,
    "deposit_over_100k": False,
}


@pytest.mark.parametrize(("bills", "expected"), [("962.70", NOT), ("963", ELIGIBLE)])
def test_subsidy_when_bills_exceed_the_mandatory_payment(bills: str, expected: str) -> None:
    answers = {**ALONE_ON_TWO_MINIMUMS, "utility_bills": bills}
    assert outcomes(answers)["housing_subsidy"] == expected


def test_subsidy_refusal_reasons_of_the_regulation() -> None:
    answers = {**ALONE_ON_TWO_MINIMUMS, "utility_bills": "1962.70"}
    assert amount("housing_subsidy", answers) == Decimal(1000)
    assert outcomes(answers)["housing_subsidy"] == ELIGIBLE
    # one-off purchase or currency over 50,000 UAH (was: one "over 100,000" question)
    assert outcomes({**answers, "big_purchase": True})["housing_subsidy"] == NOT
    assert outcomes({**answers, "abroad_60_days": True})["housing_subsidy"] == NOT
    assert outcomes({**answers, "utility_debt": True})["housing_subsidy"] == NOT


# -- disability since childhood ----------------------------------------------------------------

SINCE_CHILDHOOD = {"children_count": 0, "disability_since_childhood": True}


def test_disability_since_childhood_adult_route_starts_at_18() -> None:
    answers = {**SINCE_CHILDHOOD, "disability_group": "group_2"}
    assert outcomes({**answers, "age_band": "under_18"})["disability_since_childhood"] == NOT
    assert outcomes({**answers, "age_band": "age_18_59"})["disability_since_childhood"] == ELIGIBLE


def test_disability_2026_amount_only_for_group_one_the_rest_depends() -> None:
    adult = {**SINCE_CHILDHOOD, "age_band": "age_18_59"}
    assert amount("disability_since_childhood", {**adult, "disability_group": "group_1"}) == (
        Decimal(2595)
    )
    assert amount("disability_since_childhood", {**adult, "disability_group": "group_2"}) is None
    version = active("disability_since_childhood").version
    assert version.amount.depends is not None and version.check is not None
    assert active("disability_since_childhood").programme.title.uk == (
        "Державна соціальна допомога особам з інвалідністю з дитинства та дітям з інвалідністю"
    )


def test_a_child_with_a_disability_hint_is_a_plain_conditional() -> None:
    # issue #13: never «на питання про «дитина з інвалідністю» ви відповіли «Так»»
    answers = {"children_count": 1, "child_with_disability": False, "disability_group": "none"}
    data = demo()
    found = rules.changes(data, active("disability_since_childhood"), decode(data, answers), TODAY)
    assert [change_text(r, translator("uk")) for r in found] == [
        "якби у вас була дитина з інвалідністю"
    ]


# -- sources -----------------------------------------------------------------------------------


def demo_versions(programme_id: str) -> list[Any]:
    return next(p for p in demo().programmes if p.id == programme_id).versions


def test_every_rule_version_cites_an_act_and_an_official_source() -> None:
    for programme in demo().programmes:
        for version in programme.versions:
            assert version.legal_act.uk and version.legal_act.en
            assert any(is_official(url) for url in version.sources), programme.id


def test_a_version_citing_only_a_news_article_is_rejected(tmp_path: Path) -> None:
    data_dir = copy_demo(tmp_path)
    file = data_dir / "eligibility" / "programmes" / "carer_compensation.yaml"
    text = file.read_text(encoding="utf-8")
    start = text.index("    sources:\n")
    end = text.index("    check:")
    file.write_text(
        text[:start] + "    sources: [https://news.example.com/carers]\n" + text[end:],
        encoding="utf-8",
    )
    _, errors = load_eligibility(data_dir)
    assert [e.message for e in errors] == [
        "sources: none is an official site (*.gov.ua, e.g. zakon.rada.gov.ua, pfu.gov.ua); "
        "a news article may only be a second source"
    ]


# -- wording -----------------------------------------------------------------------------------


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
    found = rules.changes(data, active("basic_social_assistance"), answers, TODAY)
    text = change_text(found[0], translator("uk"))
    assert text is not None
    assert re.fullmatch(
        r"якби середній дохід вашої сім'ї на місяць був меншим за 12\s150 грн", text
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
    sources: [https://zakon.rada.gov.ua/laws/show/2811-12]
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
    newborn = decode(
        data,
        {"children_count": 1, "children_under_6": 1, "youngest_child_birth_date": "2026-12-15"},
    )

    def sum_on(day: dt.date) -> Decimal | None:
        programme = next(a for a in data.active(day) if a.id == "birth_assistance")
        return rules.amount(data, programme, newborn, day)

    assert sum_on(dt.date(2026, 12, 31)) == Decimal(50000)
    assert sum_on(dt.date(2027, 1, 1)) == Decimal(60000)
