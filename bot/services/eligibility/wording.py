"""Amounts, reasons and "what would change it" in plain words, in the person's language."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from bot.i18n import N_, Translator
from bot.services.eligibility import conditions as c
from bot.services.eligibility.model import Active, Eligibility
from bot.services.eligibility.rules import Requirement, amount
from bot.services.eligibility.text import Text

AMOUNT = {
    ("exact", "once"): N_("{money} once"),
    ("exact", "month"): N_("{money} a month"),
    ("about", "once"): N_("About {money} once"),
    ("about", "month"): N_("About {money} a month"),
    ("up_to", "once"): N_("Up to {money} once"),
    ("up_to", "month"): N_("Up to {money} a month"),
    ("from", "once"): N_("From {money} once"),
    ("from", "month"): N_("From {money} a month"),
}

CHANGE = {
    "lt": N_("if your {subject} were below {value}"),
    "le": N_("if your {subject} were {value} or less"),
    "gt": N_("if your {subject} were above {value}"),
    "ge": N_("if your {subject} were {value} or more"),
    "eq": N_("if your {subject} were {value}"),
    "ne": N_("if your {subject} were not {value}"),
    "in": N_("if your {subject} were one of: {value}"),
    "not_in": N_("if your {subject} were none of: {value}"),
}

REASON = {
    "lt": N_("Required: {subject} below {value} (yours: {actual})."),
    "le": N_("Required: {subject} {value} or less (yours: {actual})."),
    "gt": N_("Required: {subject} above {value} (yours: {actual})."),
    "ge": N_("Required: {subject} {value} or more (yours: {actual})."),
    "eq": N_("Required: {subject} {value} (yours: {actual})."),
    "ne": N_("Required: {subject} other than {value}."),
    "in": N_("Required: {subject} one of: {value} (yours: {actual})."),
    "not_in": N_("Required: {subject} none of: {value} (yours: {actual})."),
}


def amount_line(
    data: Eligibility,
    active: Active,
    answers: Mapping[str, c.Known],
    on: dt.date,
    tr: Translator,
) -> str | None:
    """'About 5 130 грн a month', or None when the sum depends on something not asked."""
    spec = active.version.amount
    value = amount(data, active, answers, on)
    if value is None:
        return None
    return tr._(AMOUNT[(spec.qualifier, spec.period)], money=tr.money(value))


def amount_text(data: Eligibility, active: Active, on: dt.date, tr: Translator) -> str:
    """The programme's own explanation of the sum, with {constant} figures of that day."""
    figures = {
        name: tr.money(value.normalize() if value == value.to_integral_value() else value)
        for name, value in data.constants_on(on).items()
    }
    template = active.version.amount.text(tr.language)
    try:
        return template.format_map(_Figures(figures))
    except (ValueError, IndexError):  # the loader rejects these; never fail a chat over it
        return template


class _Figures(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def change_text(requirement: Requirement, tr: Translator) -> str | None:
    """A plain conditional ("if your family's income were below 10,380 UAH"), never the
    wording of a question; None when the data gives no way to say it plainly."""
    if requirement.change is not None:
        template = requirement.change(tr.language)
        value = shown(requirement.target, requirement.unit, tr)
        try:
            return template.format_map(_Figures({"value": value}))
        except (ValueError, IndexError):
            return template
    if requirement.subject is None or requirement.op not in CHANGE:
        return None
    return tr._(
        CHANGE[requirement.op],
        subject=requirement.subject(tr.language),
        value=shown(requirement.target, requirement.unit, tr),
    )


def reason_text(requirement: Requirement, tr: Translator) -> str:
    if requirement.why is not None:
        return requirement.why(tr.language)
    if requirement.subject is None or requirement.op not in REASON:
        return tr._("The conditions of this programme are not met.")
    return tr._(
        REASON[requirement.op],
        subject=requirement.subject(tr.language),
        value=shown(requirement.target, requirement.unit, tr),
        actual=shown(requirement.actual, requirement.unit, tr),
    )


def shown(value: Any, unit: str | None, tr: Translator) -> str:
    """A value as a person reads it: money, a number, a date, an option's label, yes/no."""
    if value is None:
        return "—"
    if isinstance(value, list):
        return ", ".join(shown(item, unit, tr) for item in value)
    if isinstance(value, Text):
        return f"“{value(tr.language)}”"
    if isinstance(value, bool):
        return tr._("Yes") if value else tr._("No")
    if isinstance(value, Decimal):
        rounded = value.quantize(Decimal("0.01")).normalize()
        if rounded == rounded.to_integral_value():
            rounded = rounded.quantize(Decimal(1))
        return tr.money(rounded) if unit == "UAH" else tr.number(rounded)
    if isinstance(value, dt.date):
        return tr.date(value)
    return str(value)
