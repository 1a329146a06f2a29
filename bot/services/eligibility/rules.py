"""The eligibility check itself: pure functions over the data, the answers so far and a day.

- `decide`: per programme in force that day, eligible / not eligible / undecided;
- `next_question`: the first question (in questions.yaml order) that some
  undecided programme still needs, or None when every programme is decided;
- `amount`: the sum for an eligible programme, when its formula can be computed;
- `reasons` and `changes`: what rules a programme out, and which single
  different answer would make the person eligible.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Iterator, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

from bot.services.eligibility import conditions as c
from bot.services.eligibility.model import Active, Eligibility, Question
from bot.services.eligibility.text import Text


class Outcome(StrEnum):
    ELIGIBLE = "eligible"
    NOT_ELIGIBLE = "not_eligible"
    UNDECIDED = "undecided"


@dataclass(frozen=True)
class Decision:
    active: Active
    outcome: Outcome

    @property
    def id(self) -> str:
        return self.active.id


def environment(
    data: Eligibility, answers: Mapping[str, c.Known], on: dt.date, *, memo: bool = False
) -> c.Env:
    """`memo`: named values are computed once (the Env must not outlive the call using it)."""
    return c.Env(
        answers=answers,
        constants=data.on_day(on).constants,
        values=data.formulas,
        today=on,
        memo={} if memo else None,
    )


def decide(data: Eligibility, answers: Mapping[str, c.Known], on: dt.date) -> list[Decision]:
    env = environment(data, answers, on, memo=True)
    decisions = []
    for active in data.on_day(on).active:
        truth = c.evaluate(active.version.eligibility, env)
        outcome = (
            Outcome.UNDECIDED
            if truth is None
            else (Outcome.ELIGIBLE if truth else Outcome.NOT_ELIGIBLE)
        )
        decisions.append(Decision(active, outcome))
    return decisions


def needed_questions(
    data: Eligibility, answers: Mapping[str, c.Known], on: dt.date
) -> list[Question]:
    """Unanswered questions some undecided programme depends on, in questions.yaml order."""
    # A step that takes an answer asks what comes next, and the step it leads to asks
    # again with the same answers: the last few results are kept with the data.
    try:
        key: Hashable = (on, frozenset([(k, type(v), v) for k, v in answers.items()]))
    except TypeError:  # not an answer the rules know (decode never gives one)
        return [data.questions[qid] for qid in _needed_ids(data, answers, on)]
    ids = data.needed_cache.get(key)
    if ids is None:
        ids = _needed_ids(data, answers, on)
        data.needed_cache.put(key, ids)
    return [data.questions[qid] for qid in ids]


def _needed_ids(data: Eligibility, answers: Mapping[str, c.Known], on: dt.date) -> tuple[str, ...]:
    env = environment(data, answers, on, memo=True)
    needed: set[str] = set()
    for active in data.on_day(on).active:
        needed |= c.missing_needed(active.version.eligibility, env)
    if not needed:
        return ()
    return tuple(q.id for q in data.questions_in_order() if q.id in needed and q.id not in answers)


def next_question(
    data: Eligibility, answers: Mapping[str, c.Known], on: dt.date
) -> Question | None:
    needed = needed_questions(data, answers, on)
    return needed[0] if needed else None


def amount(
    data: Eligibility, active: Active, answers: Mapping[str, c.Known], on: dt.date
) -> Decimal | None:
    """The sum in hryvnias, or None when it depends on answers not given (its text explains)."""
    spec = active.version.amount
    if spec.value is not None:
        raw: c.Value = Decimal(str(spec.value))
    elif spec.formula is not None:
        raw = c.value_of(spec.formula, environment(data, answers, on))
    else:
        return None
    if not isinstance(raw, Decimal):
        return None
    step = Decimal("0.01") if spec.qualifier == "exact" else Decimal(1)
    rounded = raw.quantize(step, rounding=ROUND_HALF_UP)
    return rounded if rounded > 0 else None


# -- explanations ----------------------------------------------------------------------


@dataclass(frozen=True)
class Requirement:
    """One thing a programme asks for, in a form the wording module can say plainly.

    `why` is the staff-written reason when there is one. Otherwise: `subject`
    (what is compared, e.g. "monthly income per person") must be `op`
    (lt, le, gt, ge, eq, ne, in, yes, no) `target`; `actual` is the person's value.
    """

    why: Text | None = None
    #: a staff-written plain conditional for "what would change it"
    change: Text | None = None
    subject: Text | None = None
    op: str | None = None
    target: Any = None
    unit: str | None = None
    actual: Any = None


def reasons(
    data: Eligibility, active: Active, answers: Mapping[str, c.Known], on: dt.date
) -> list[Requirement]:
    """The parts of a programme's rule that the answers do not meet (empty unless it fails)."""
    env = environment(data, answers, on)
    root = active.version.eligibility
    if c.evaluate(root, env) is not False:
        return []
    found: list[Requirement] = []
    seen: set[str] = set()
    for node, negated in _failing(root, env, negated=False):
        requirement = _requirement(data, node, env, negated)
        key = repr(requirement)
        if key not in seen:
            seen.add(key)
            found.append(requirement)
    return found


def _failing(node: Any, env: c.Env, *, negated: bool) -> Iterator[tuple[Any, bool]]:
    """The nodes responsible for `node` being false (or true, when `negated`)."""
    # A reason is written for its part failing; under a `not` it would say the opposite.
    if node.why is not None and not negated:
        yield node, negated
        return
    wanted = negated  # the truth value that makes this node "fail"
    if isinstance(node, c.All if not negated else c.Any_):
        items = node.all if isinstance(node, c.All) else node.any
        for item in items:
            if c.evaluate(item, env) is wanted:
                yield from _failing(item, env, negated=negated)
    elif isinstance(node, c.Any_ if not negated else c.All):
        items = node.any if isinstance(node, c.Any_) else node.all
        for item in items:
            yield from _failing(item, env, negated=negated)
    elif isinstance(node, c.Not):
        yield from _failing(node.not_, env, negated=not negated)
    else:
        yield node, negated


def changes(
    data: Eligibility, active: Active, answers: Mapping[str, c.Known], on: dt.date
) -> list[Requirement]:
    """Single conditions which, met differently, would make the person eligible; best first.

    Each rule part that depends on an answer is flipped on its own; when that
    alone makes the whole rule true, it is a change worth telling. Only parts
    that can be put in words (their subject has a label) are returned.
    """
    env = environment(data, answers, on)
    root = active.version.eligibility
    if c.evaluate(root, env) is not False:
        return []
    values = data.formulas
    found = []
    for leaf in _leaves(root):
        current = c.evaluate(leaf, env)
        if current is None or not c.answers_used(leaf, values):
            continue
        flipped = c.Env(
            env.answers, env.constants, env.values, env.today, forced={id(leaf): not current}
        )
        if c.evaluate(root, flipped) is True:
            # the leaf must become `not current`; seen from the root through `not`s
            requirement = _describe_leaf(data, leaf, env, negated=current)
            if leaf.change is not None:
                # the staff's own words; {value} is the threshold the rule compares with
                requirement = Requirement(
                    change=leaf.change,
                    op=requirement.op or "change",
                    target=requirement.target,
                    unit=requirement.unit,
                )
            if requirement.change is not None or (
                requirement.subject is not None and not _names_options(requirement.target)
            ):
                found.append(requirement)
    # A threshold (income below …) is the most useful hint; then yes/no facts; a choice
    # among options (how long something lasted) is the least likely to be changeable.
    return sorted(found, key=lambda r: _HINT_RANK.get(r.op or "", 3))


def _names_options(target: Any) -> bool:
    """A choice's options would be quoted in a hint: say it only with a staff-written `change`."""
    items = target if isinstance(target, list) else [target]
    return any(isinstance(item, Text) for item in items)


_HINT_RANK = {"lt": 0, "le": 0, "gt": 0, "ge": 0, "change": 1, "yes": 1, "no": 1}


def _leaves(node: Any) -> Iterator[Any]:
    """Rule parts without sub-conditions, reached through all / any / not only."""
    if isinstance(node, c.All | c.Any_):
        for item in node.all if isinstance(node, c.All) else node.any:
            yield from _leaves(item)
    elif isinstance(node, c.Not):
        yield from _leaves(node.not_)
    else:
        yield node


def _requirement(data: Eligibility, node: Any, env: c.Env, negated: bool) -> Requirement:
    if node.why is not None and not negated:
        return Requirement(why=node.why)
    if c.is_leaf(node):
        return _describe_leaf(data, node, env, negated=negated)
    return Requirement()


_MIRROR = {"lt": "gt", "le": "ge", "gt": "lt", "ge": "le", "eq": "eq", "ne": "ne"}


def _describe_leaf(data: Eligibility, leaf: Any, env: c.Env, *, negated: bool) -> Requirement:
    """What the leaf requires (its negation when `negated`), about a labelled subject."""
    if isinstance(leaf, c.Yes | c.No):
        qid = leaf.yes if isinstance(leaf, c.Yes) else leaf.no
        question = data.questions.get(qid)
        wants_yes = isinstance(leaf, c.Yes) != negated
        plain = None if question is None else (question.if_yes if wants_yes else question.if_no)
        return Requirement(
            change=plain,
            subject=question.label if question else None,
            op="yes" if wants_yes else "no",
            actual=env.answers.get(qid),
        )
    if isinstance(leaf, c.In):
        subject, unit, options = _label_of(data, leaf.in_[0])
        targets = [_shown(c.literal(v), options) for v in leaf.in_[1]]
        return Requirement(
            subject=subject,
            op="not_in" if negated else "in",
            target=targets,
            unit=unit,
            actual=_shown(c.value_of(leaf.in_[0], env), options),
        )
    op, (left, right) = c.comparison(leaf)
    subject, unit, options = _label_of(data, left)
    other = right
    if subject is None:
        subject, unit, options = _label_of(data, right)
        other, op = left, _MIRROR[op]
        left = right
    if negated:
        op = c.NEGATED[op]
    return Requirement(
        subject=subject,
        op=op,
        target=_shown(c.value_of(other, env), options),
        unit=unit,
        actual=_shown(c.value_of(left, env), options),
    )


def _label_of(data: Eligibility, expr: Any) -> tuple[Text | None, str | None, dict[str, Text]]:
    if isinstance(expr, c.AnswerRef) and expr.answer in data.questions:
        question = data.questions[expr.answer]
        return question.label, question.unit, {o.id: o.label for o in question.options}
    if isinstance(expr, c.ValueRef) and expr.value in data.values:
        value = data.values[expr.value]
        return value.label, value.unit, {}
    return None, None, {}


def _shown(value: Any, options: dict[str, Text]) -> Any:
    """A choice option as its label; anything else unchanged."""
    if isinstance(value, str) and value in options:
        return options[value]
    return value
