"""A refused answer says what was wrong with it, not only what a good one looks like."""

from __future__ import annotations

import datetime as dt

from bot.i18n import translator
from bot.services.eligibility.answers import parse
from bot.services.eligibility.model import Question
from tests.eligibility_support import demo

TODAY = dt.date(2026, 11, 24)


def question(question_id: str) -> Question:
    return demo().questions[question_id]


def error(question_id: str, text: str, language: str = "en") -> str | None:
    return parse(
        demo(),
        question(question_id),
        text=text,
        payload=None,
        answers={},
        on=TODAY,
        tr=translator(language),
    ).error


def test_a_date_that_does_not_exist_is_called_that() -> None:
    message = error("youngest_child_birth_date", "31.02.2020")
    assert message is not None and "no such date" in message
    assert "немає" in (error("youngest_child_birth_date", "31.02.2020", "uk") or "")
    unreadable = error("youngest_child_birth_date", "last spring")
    assert unreadable is not None and "day.month.year" in unreadable


def test_an_amount_too_large_names_the_limit() -> None:
    message = error("income_monthly", "12345678901234")
    assert message is not None and "up to 10,000,000" in message
    assert error("income_monthly", "8500") is None


def test_dates_are_written_one_way_in_each_language() -> None:
    from datetime import UTC, datetime

    moment = datetime(2090, 1, 1, 8, 0, tzinfo=UTC)  # 10:00 in Kyiv
    en, uk = translator("en"), translator("uk")
    assert en.date(moment) == "1 January 2090"
    assert en.datetime(moment) == "1 January 2090, 10:00"
    assert uk.datetime(moment) == "1 січня 2090\u202fр., 10:00"
    assert uk.date(moment).startswith("1 січня 2090")
