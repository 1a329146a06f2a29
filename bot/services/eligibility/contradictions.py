"""Rules that can never be met: `yes` and `no` on one question, `> 5` and `< 2` on one number.

Such a rule is a typo, not a policy: nobody would ever qualify, and the bot would
tell every person "no". `check-data` (and the start) report each one at the line
of the `all:` that holds the parts that cannot hold together. Only conjunctions
are judged — `all:` and a version's rule itself — since an `any:` may well list
alternatives that exclude each other.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from bot.datafiles import DataError, YamlDocument
from bot.services.eligibility.conditions import (
    All,
    Any_,
    Eq,
    Ge,
    Gt,
    Le,
    Lt,
    Ne,
    No,
    Not,
    Yes,
)
from bot.services.eligibility.model import Programme

Path_ = tuple[str | int, ...]
#: a Decimal or a date; one range holds bounds of one kind (its key says which)
Bound = Any
# `gt: [x, 5]` read from the side of 5: 5 < x, that is x > 5.
MIRRORED = {"lt": "gt", "le": "ge", "gt": "lt", "ge": "le", "eq": "eq", "ne": "ne"}
SYMBOLS = {"lt": "<", "le": "≤", "gt": ">", "ge": "≥", "eq": "=", "ne": "≠"}


def check_programme(doc: YamlDocument, programme: Programme) -> list[DataError]:
    errors: list[DataError] = []
    for index, version in enumerate(programme.versions):
        path: Path_ = ("versions", index, "eligibility")
        for where, message in contradictions(version.eligibility, path):
            errors.append(DataError(doc.file, doc.line(*where), f"{_dotted(where)}: {message}"))
    return errors


def contradictions(condition: Any, path: Path_) -> Iterator[tuple[Path_, str]]:
    """Every conjunction under `condition` whose parts cannot all be true at once."""
    parts, inner = _conjuncts(condition, path)
    problem = _clash(parts)
    if problem is not None:
        yield ((*path, "all") if isinstance(condition, All) else path), problem
    for child, child_path in inner:
        yield from contradictions(child, child_path)


def _conjuncts(condition: Any, path: Path_) -> tuple[list[Any], list[tuple[Any, Path_]]]:
    """The parts that must all hold (nested `all:` flattened), and the conditions below
    an `any:` or `not:`, which are judged on their own."""
    parts: list[Any] = []
    inner: list[tuple[Any, Path_]] = []
    pending: list[tuple[Any, Path_]] = [(condition, path)]
    while pending:
        node, where = pending.pop()
        if isinstance(node, All):
            # Reversed onto the stack, so the parts are met in the order staff wrote them.
            pending.extend(reversed([(p, (*where, "all", i)) for i, p in enumerate(node.all)]))
        elif isinstance(node, Any_):
            inner.extend((part, (*where, "any", i)) for i, part in enumerate(node.any))
        elif isinstance(node, Not):
            inner.append((node.not_, (*where, "not")))
            parts.append(node)
        else:
            parts.append(node)
    return parts, inner


@dataclass
class _Range:
    """What the parts of one conjunction say about one value."""

    said: list[str] = field(default_factory=list)
    low: tuple[Bound, bool] | None = None  # (bound, inclusive)
    high: tuple[Bound, bool] | None = None
    equal: set[Bound] = field(default_factory=set)
    unequal: set[Bound] = field(default_factory=set)

    def add(self, op: str, bound: Bound) -> None:
        if op in ("gt", "ge") and (
            self.low is None or bound > self.low[0] or (bound == self.low[0] and op == "gt")
        ):
            self.low = (bound, op == "ge")
        elif op in ("lt", "le") and (
            self.high is None or bound < self.high[0] or (bound == self.high[0] and op == "lt")
        ):
            self.high = (bound, op == "le")
        elif op == "eq":
            self.equal.add(bound)
        elif op == "ne":
            self.unequal.add(bound)

    def empty(self) -> bool:
        try:
            if len(self.equal) > 1 or self.equal & self.unequal:
                return True
            for value in self.equal:
                if self.low and (
                    value < self.low[0] or (value == self.low[0] and not self.low[1])
                ):
                    return True
                if self.high and (
                    value > self.high[0] or (value == self.high[0] and not self.high[1])
                ):
                    return True
            if self.low and self.high:
                (low, low_in), (high, high_in) = self.low, self.high
                return low > high or (low == high and not (low_in and high_in))
        except TypeError:  # a number against a date: the type checks report that
            return False
        return False


def _clash(parts: list[Any]) -> str | None:
    answers: dict[str, dict[bool, str]] = {}
    ranges: dict[str, _Range] = {}
    for part in parts:
        said = _yes_no(part)
        if said is not None:
            question, wanted = said
            answers.setdefault(question, {})[wanted] = "yes" if wanted else "no"
            if len(answers[question]) == 2:
                return f"asks for both 'yes' and 'no' on '{question}': nobody can qualify"
            continue
        compared = _comparison(part)
        if compared is None:
            continue
        subject, op, bound, shown = compared
        found = ranges.setdefault(subject, _Range())
        found.said.append(shown)
        found.add(op, bound)
        if found.empty():
            return f"{' and '.join(found.said)} cannot both hold: nobody can qualify"
    return None


def _yes_no(part: Any) -> tuple[str, bool] | None:
    """(question, the answer it needs) for `yes: q`, `no: q` and their `not:`."""
    negated = isinstance(part, Not)
    inner = part.not_ if negated else part
    if isinstance(inner, Yes):
        return inner.yes, not negated
    if isinstance(inner, No):
        return inner.no, negated
    return None


def _comparison(part: Any) -> tuple[str, str, Bound, str] | None:
    """(the compared value, operator, literal bound, how staff wrote it) for `x op literal`."""
    for op, kind in (("lt", Lt), ("le", Le), ("gt", Gt), ("ge", Ge), ("eq", Eq), ("ne", Ne)):
        if isinstance(part, kind):
            left, right = getattr(part, op)
            break
    else:
        return None
    left_bound, right_bound = _literal(left), _literal(right)
    if left_bound is None and right_bound is not None:
        subject, bound = left, right_bound
    elif right_bound is None and left_bound is not None:
        subject, bound, op = right, left_bound, MIRRORED[op]
    else:
        return None
    name = _name(subject)
    sort = "date" if isinstance(bound, dt.date) else "number"
    return f"{sort}:{_key(subject)}", op, bound, f"'{name} {SYMBOLS[op]} {_shown(bound)}'"


def _literal(value: Any) -> Bound | None:
    if isinstance(value, bool | BaseModel):
        return None
    if isinstance(value, int | float):
        return Decimal(str(value))
    if isinstance(value, dt.date):
        return value
    return None


def _key(value: Any) -> str:
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json", by_alias=True)
    return json.dumps(value, sort_keys=True, default=str)


def _name(value: Any) -> str:
    if isinstance(value, BaseModel):
        fields = value.model_dump(mode="json", by_alias=True)
        if len(fields) == 1:
            [(tag, inner)] = fields.items()
            if isinstance(inner, str):
                return f"{tag} {inner}"
    return "the value"


def _shown(bound: Bound) -> str:
    return bound.isoformat() if isinstance(bound, dt.date) else format(bound.normalize(), "f")


def _dotted(path: Path_) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text
