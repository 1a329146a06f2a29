"""Reading what a person typed or pressed into a checked answer, with a clear re-prompt.

Answers are kept in dialog state as JSON (numbers as text, so no hryvnia is lost
to floating point) and decoded into typed values for the rules.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.engine.choices import Choices
from bot.i18n import Translator
from bot.services.eligibility import conditions as c
from bot.services.eligibility.model import Eligibility, Question

YES_WORDS = {"так", "т", "yes", "y", "ага", "авжеж"}
NO_WORDS = {"ні", "н", "no", "n", "нi"}
CURRENCY = re.compile(r"(грн\.?|гривень|гривні|гривня|uah|hryvnias?|₴)", re.IGNORECASE)
#: the payload of a "5+" button: the person is asked to type the exact number
MORE = "more"
DATE_FORMATS = ("%d.%m.%Y", "%d/%m/%Y", "%d-%m-%Y", "%Y-%m-%d")
DATE_SHAPE = re.compile(r"\d{1,2}[./-]\d{1,2}[./-]\d{4}|\d{4}-\d{1,2}-\d{1,2}")


@dataclass(frozen=True)
class Parsed:
    """Either a JSON-able answer or the message to re-prompt with."""

    value: Any = None
    error: str | None = None


def decode(data: Eligibility, raw: Mapping[str, Any]) -> dict[str, c.Known]:
    """Stored answers as typed values; answers to questions no longer in the data are dropped."""
    typed: dict[str, c.Known] = {}
    for qid, value in raw.items():
        question = data.questions.get(qid)
        if question is None or value is None:
            continue
        try:
            if question.type == "number":
                typed[qid] = Decimal(str(value))
            elif question.type == "date":
                typed[qid] = dt.date.fromisoformat(str(value))
            elif question.type == "yes_no":
                typed[qid] = bool(value)
            elif value in {o.id for o in question.options}:
                typed[qid] = str(value)
        except (InvalidOperation, ValueError):
            continue
    return typed


def parse_number(text: str) -> Decimal | None:
    """'12 000', '12000 грн', '12,000', '12.000', '1500,50' → Decimal; None when not a number."""
    cleaned = CURRENCY.sub("", text).strip()
    cleaned = re.sub(r"[\s\u00a0\u202f'’]", "", cleaned)
    if re.fullmatch(r"\d+", cleaned):
        return Decimal(cleaned)
    if re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d{1,2})?", cleaned):
        return Decimal(cleaned.replace(",", ""))
    if re.fullmatch(r"\d{1,3}(\.\d{3})+(,\d{1,2})?", cleaned):
        return Decimal(cleaned.replace(".", "").replace(",", "."))
    if re.fullmatch(r"\d+[.,]\d{1,2}", cleaned):
        return Decimal(cleaned.replace(",", "."))
    return None


def parse_date(text: str) -> dt.date | None:
    cleaned = text.strip().rstrip(".")
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(cleaned, fmt).date()  # noqa: DTZ007 - a calendar day
        except ValueError:
            continue
    return None


def bounds(
    data: Eligibility, question: Question, answers: Mapping[str, c.Known], on: dt.date
) -> tuple[Decimal, Decimal | None]:
    """The allowed range of a number question, given the answers so far."""
    env = c.Env(answers=answers, constants=data.on_day(on).constants, today=on)
    lows = [_number(c.value_of(expr, env)) for expr in question.bounds("min")]
    highs = [_number(c.value_of(expr, env)) for expr in question.bounds("max")]
    low_d = max((v for v in lows if v is not None), default=Decimal(0))
    high_d = min((v for v in highs if v is not None), default=None)
    return low_d, high_d


def button_payload(data: Eligibility, question: Question, code: str) -> str:
    """A button's payload names its question, so a button left from an earlier question
    (the same "Yes", the same "none" option) can never answer the current one."""
    return Choices(str(data.order[question.id])).payload(code)


def _answer_code(data: Eligibility, question: Question, payload: str | None) -> str | None:
    index = data.order.get(question.id)
    if payload is None or index is None:
        return None
    return Choices(str(index)).parse(payload)


def _number(value: c.Value) -> Decimal | None:
    return value if isinstance(value, Decimal) else None


def parse(
    data: Eligibility,
    question: Question,
    *,
    text: str | None,
    payload: str | None,
    answers: Mapping[str, c.Known],
    on: dt.date,
    tr: Translator,
) -> Parsed:
    """Check one answer: a pressed button's payload, or typed text."""
    code = _answer_code(data, question, payload)
    if question.type == "yes_no":
        return _yes_no(code, text, tr)
    if question.type == "choice":
        return _choice(question, code, text, tr)
    if question.type == "number":
        low, high = bounds(data, question, answers, on)
        return _number_answer(question, code, text, low, high, tr)
    return _date(question, text, on, tr)


def _yes_no(code: str | None, text: str | None, tr: Translator) -> Parsed:
    if code in ("yes", "no"):
        return Parsed(code == "yes")
    word = (text or "").strip().strip(".!").casefold()
    if word in YES_WORDS or word == tr._("Yes").casefold():
        return Parsed(True)
    if word in NO_WORDS or word == tr._("No").casefold():
        return Parsed(False)
    return Parsed(error=tr._("Please press “Yes” or “No”."))


def _choice(question: Question, code: str | None, text: str | None, tr: Translator) -> Parsed:
    """A button, an option's name typed, or a number that falls in an option's range."""
    options = {o.id for o in question.options}
    if code in options:
        return Parsed(code)
    typed = " ".join((text or "").split()).casefold()
    for option in question.options:
        if typed and typed in (option.label.uk.casefold(), option.label.en.casefold()):
            return Parsed(option.id)
    number = parse_number(typed) if typed else None
    if number is not None:
        for option in question.options:
            if option.takes(number):
                return Parsed(option.id)
    if any(o.from_ is not None or o.to is not None for o in question.options):
        return Parsed(error=tr._("Please press a button or type a number, for example 45."))
    return Parsed(error=tr._("Please choose one of the buttons."))


def _number_answer(
    question: Question,
    code: str | None,
    text: str | None,
    low: Decimal,
    high: Decimal | None,
    tr: Translator,
) -> Parsed:
    """A number within [low, high]; crossing a bound set by earlier answers says which."""
    if code == MORE and question.buttons:
        return Parsed(
            error=tr._(
                "Please type the exact number, {n} or more.", n=tr.number(question.buttons[-1])
            )
        )
    raw = code if code is not None else (text or "")
    number = parse_number(raw)
    if number is None or (question.integer and number != number.to_integral_value()):
        return Parsed(error=_number_hint(question, low, high, tr))
    if number < low or (high is not None and number > high):
        which = "min" if number < low else "max"
        why = question.min_why if which == "min" else question.max_why
        if why is not None and _set_by_answers(question, which, low if which == "min" else high):
            return Parsed(error=_why(why(tr.language), low, high))
        return Parsed(error=_number_hint(question, low, high, tr))
    return Parsed(str(number.normalize() if number == number.to_integral_value() else number))


def _date(question: Question, text: str | None, on: dt.date, tr: Translator) -> Parsed:
    day = parse_date(text or "")
    if day is None and DATE_SHAPE.fullmatch((text or "").strip().rstrip(".")):
        # the right format, but 31.02.2020 never was: say so, not "write it like …"
        return Parsed(error=tr._("There is no such date. Please check the day and the month."))
    if day is None:
        return Parsed(
            error=tr._(
                "Please write the date as day.month.year, for example {example}.",
                example=on.replace(day=min(on.day, 28)).strftime("%d.%m.%Y"),
            )
        )
    if question.not_in_future and day > on:
        return Parsed(error=tr._("This date is in the future. Please check it."))
    if question.max_years_ago is not None and day < _years_before(on, question.max_years_ago):
        return Parsed(
            error=tr.n_(
                "This date is more than {n} year ago. Please check it.",
                "This date is more than {n} years ago. Please check it.",
                question.max_years_ago,
            )
        )
    return Parsed(day.isoformat())


def _set_by_answers(question: Question, which: str, bound: Decimal | None) -> bool:
    """Whether the crossed bound comes from earlier answers rather than a fixed limit: then
    the answer contradicts them, and the person is told which."""
    fixed = [Decimal(str(e)) for e in question.bounds(which) if isinstance(e, int | float)]
    return bound is not None and bound not in fixed


def _why(template: str, low: Decimal, high: Decimal | None) -> str:
    figures = {
        "min": str(low.normalize()),
        "min_minus_one": str((low - 1).normalize()),
        "max": str(high.normalize()) if high is not None else "",
    }
    try:
        return template.format_map(figures)
    except (KeyError, ValueError, IndexError):
        return template


def offered_buttons(
    data: Eligibility, question: Question, answers: Mapping[str, c.Known], on: dt.date
) -> list[int]:
    """The number buttons worth showing: none that earlier answers rule out."""
    low, high = bounds(data, question, answers, on)
    return [n for n in question.buttons if n >= low and (high is None or n <= high)]


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _number_hint(question: Question, low: Decimal, high: Decimal | None, tr: Translator) -> str:
    if question.unit == "UAH":
        if high is not None:  # a 14-digit amount is digits only, yet wrong: say the limit
            return tr._(
                "Please write the amount in hryvnias, in digits, up to {high}, for example 8500.",
                high=tr.number(high),
            )
        return tr._("Please write the amount in hryvnias using digits only, for example 8500.")
    if high is not None:
        return tr._(
            "Please write a whole number from {low} to {high}.",
            low=tr.number(low),
            high=tr.number(high),
        )
    return tr._("Please write a whole number, {low} or more.", low=tr.number(low))
