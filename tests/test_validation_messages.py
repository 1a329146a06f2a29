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
