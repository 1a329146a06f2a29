"""The compiled rules give exactly what the tree-walking reference gives.

`conditions.evaluate`, `value_of` and `missing_needed` run closures compiled once per
tree; `conditions.reference_*` walk the pydantic trees as the language is specified.
The rules module also keeps per-day things (programmes in force, constants) instead of
recomputing them. These properties compare both ways over random answers to the shipped
questions, on days around every date the data changes, and over random trees using
every construct of the language.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from decimal import Decimal
from typing import Any
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from bot.services.eligibility import conditions as c
from bot.services.eligibility import rules
from bot.services.eligibility.answers import bounds, decode
from bot.services.eligibility.loader import load_folder
from bot.services.eligibility.model import Eligibility, Question, Recent
from tests.eligibility_support import DEMO, PERSONAS, TODAY, demo

# -- the reference rules: the tree walk, and everything recomputed on every call ---------


def reference_env(data: Eligibility, answers: Mapping[str, c.Known], on: dt.date) -> c.Env:
    return c.Env(
        answers=answers, constants=data.constants_on(on), values=data.value_formulas(), today=on
    )


def reference_decide(
    data: Eligibility, answers: Mapping[str, c.Known], on: dt.date
) -> list[tuple[str, c.Truth]]:
    env = reference_env(data, answers, on)
    return [(a.id, c.reference_evaluate(a.version.eligibility, env)) for a in data.active(on)]


def reference_needed(data: Eligibility, answers: Mapping[str, c.Known], on: dt.date) -> list[str]:
    env = reference_env(data, answers, on)
    needed: set[str] = set()
    for active in data.active(on):
        needed |= c.reference_missing_needed(active.version.eligibility, env)
    return [q.id for q in data.questions_in_order() if q.id in needed and q.id not in answers]


@contextmanager
def tree_walk_only() -> Iterator[None]:
    """The public evaluation functions replaced by the reference ones."""
    with (
        mock.patch.object(c, "evaluate", c.reference_evaluate),
        mock.patch.object(c, "value_of", c.reference_value_of),
        mock.patch.object(c, "missing_needed", c.reference_missing_needed),
    ):
        yield


# -- random answers to the shipped questions ---------------------------------------------


def _answer(question: Question) -> st.SearchStrategy[c.Known]:
    if question.type == "yes_no":
        return st.booleans()
    if question.type == "choice":
        return st.sampled_from([o.id for o in question.options])
    if question.type == "number":
        if question.unit == "UAH":
            whole = st.integers(min_value=0, max_value=60_000).map(Decimal)
            cents = st.decimals(min_value=0, max_value=60_000, places=2)
            return st.one_of(whole, cents)
        return st.integers(min_value=0, max_value=12).map(Decimal)
    return st.dates(min_value=dt.date(2014, 1, 1), max_value=dt.date(2028, 1, 1))


def _changing_days(data: Eligibility) -> list[dt.date]:
    """Today, and the days around every date a rule or a figure starts or ends."""
    edges: set[dt.date] = set()
    for programme in data.programmes:
        for version in programme.versions:
            edges |= {version.valid_from} | ({version.valid_to} if version.valid_to else set())
    for constant in data.constants.values():
        for value in constant.values:
            edges |= {value.valid_from} | ({value.valid_to} if value.valid_to else set())
    days = {TODAY} | {e + dt.timedelta(days=d) for e in edges for d in (-1, 0, 1)}
    return sorted(days)


DATA = demo()
DAYS = _changing_days(DATA)
ANSWERS = st.one_of(
    st.fixed_dictionaries({}, optional={q.id: _answer(q) for q in DATA.questions.values()}),
    # a persona part-way through: realistic combinations, not only random ones
    st.builds(
        lambda persona, keep: {k: v for k, v in persona.items() if k in keep},
        st.sampled_from(list(PERSONAS.values())),
        st.sets(st.sampled_from(list(DATA.questions))),
    ).map(lambda raw: decode(DATA, raw)),
)


def _rule_roots(data: Eligibility, on: dt.date) -> Iterator[Any]:
    """Every rule in force, every amount formula and named value, every question bound."""
    for active in data.active(on):
        yield active.version.eligibility
        if active.version.amount.formula is not None:
            yield active.version.amount.formula
    for value in data.values.values():
        yield value.formula
    for question in data.questions.values():
        yield from (*question.bounds("min"), *question.bounds("max"))


PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(ANSWERS, st.sampled_from(DAYS))
def test_every_part_of_the_shipped_rules_evaluates_as_the_reference(
    answers: dict[str, c.Known], on: dt.date
) -> None:
    env = reference_env(DATA, answers, on)
    for root in _rule_roots(DATA, on):
        _same_everywhere(root, env)


@PROPERTY
@given(ANSWERS, st.sampled_from(DAYS))
def test_the_rules_give_what_the_reference_gives(answers: dict[str, c.Known], on: dt.date) -> None:
    decisions = rules.decide(DATA, answers, on)
    expected = {None: rules.Outcome.UNDECIDED, True: rules.Outcome.ELIGIBLE}
    assert [(d.id, d.outcome) for d in decisions] == [
        (pid, expected.get(truth, rules.Outcome.NOT_ELIGIBLE))
        for pid, truth in reference_decide(DATA, answers, on)
    ]
    needed = reference_needed(DATA, answers, on)
    assert [q.id for q in rules.needed_questions(DATA, answers, on)] == needed
    following = rules.next_question(DATA, answers, on)
    assert (following.id if following else None) == (needed[0] if needed else None)
    explained = [
        (
            rules.amount(DATA, d.active, answers, on),
            rules.reasons(DATA, d.active, answers, on),
            rules.changes(DATA, d.active, answers, on),
        )
        for d in decisions
    ]
    number_bounds = [
        bounds(DATA, q, answers, on) for q in DATA.questions.values() if q.type == "number"
    ]
    with tree_walk_only():
        assert explained == [
            (
                rules.amount(DATA, active, answers, on),
                rules.reasons(DATA, active, answers, on),
                rules.changes(DATA, active, answers, on),
            )
            for active in DATA.active(on)
        ]
        assert number_bounds == [
            bounds(DATA, q, answers, on) for q in DATA.questions.values() if q.type == "number"
        ]


# -- random trees: every construct of the language ---------------------------------------

CONDITION: TypeAdapter[Any] = TypeAdapter(c.Condition)
EXPR: TypeAdapter[Any] = TypeAdapter(c.Expr)
NUMBERS = ("n", "m")
CHOICE = "k"
FLAGS = ("p", "q")
DATES = ("d",)

number = st.integers(min_value=0, max_value=6)


def _expressions(
    conditions: st.SearchStrategy[Any], *, names: tuple[str, ...]
) -> st.SearchStrategy[Any]:
    base = st.one_of(
        number,
        st.sampled_from([{"answer": q} for q in NUMBERS]),
        st.sampled_from([{"const": "pm"}, {"const": "missing"}]),
        st.sampled_from([{"value": name} for name in (*names, "none_such")]),
        st.sampled_from([{"months_since": {"answer": "d"}}, {"years_since": {"answer": "d"}}]),
    )

    def combine(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        pair = st.tuples(inner, inner).map(list)
        several = st.lists(inner, min_size=2, max_size=3)
        return st.one_of(
            st.builds(
                lambda tag, xs: {tag: xs}, st.sampled_from(["add", "mul", "min", "max"]), several
            ),
            st.builds(lambda tag, xs: {tag: xs}, st.sampled_from(["sub", "div"]), pair),
            st.builds(lambda i, t, e: {"if": i, "then": t, "else": e}, conditions, inner, inner),
        )

    return st.recursive(base, combine, max_leaves=4)


_simple_leaves = st.one_of(
    st.builds(lambda q: {"yes": q}, st.sampled_from(FLAGS)),
    st.builds(lambda q: {"no": q}, st.sampled_from(FLAGS)),
    st.builds(
        lambda xs: {"in": [{"answer": CHOICE}, xs]},
        st.lists(st.sampled_from(["a", "b", "c"]), max_size=3),
    ),
)


def _conditions(leaves: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.builds(lambda xs: {"all": xs}, st.lists(inner, min_size=1, max_size=3)),
            st.builds(lambda xs: {"any": xs}, st.lists(inner, min_size=1, max_size=3)),
            st.builds(lambda x: {"not": x}, inner),
        ),
        max_leaves=6,
    )


_inner_conditions = _conditions(_simple_leaves)  # inside an `if:`
#: a named value may use another, `v` (a cycle would take exponential time in both forms)
expressions = _expressions(_inner_conditions, names=("v",))
v_expressions = _expressions(_inner_conditions, names=())
leaves = st.one_of(
    _simple_leaves,
    st.builds(
        lambda op, a, b: {op: [a, b]},
        st.sampled_from(list(c.COMPARISONS)),
        expressions,
        expressions,
    ),
    st.builds(lambda e, xs: {"in": [e, xs]}, expressions, st.lists(number, max_size=3)),
)
trees = _conditions(leaves)
some_answers = st.fixed_dictionaries(
    {},
    optional={
        **{q: number.map(Decimal) for q in NUMBERS},
        CHOICE: st.sampled_from(["a", "b", "c"]),
        **{q: st.booleans() for q in FLAGS},
        "d": st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2026, 11, 24)),
    },
)


def _same_everywhere(root: Any, env: c.Env, kept: c.Env | None = None) -> None:
    """Every part of `root` as the reference has it, with and without named values kept
    (`kept`: `env` with a memo, shared by all parts: it lasts as long as the answers do)."""
    kept = kept or dataclasses.replace(env, memo={})
    for _, node in c.walk(root):
        for fast in (env, kept):
            if isinstance(node, c._Cond):
                assert c.evaluate(node, fast) is c.reference_evaluate(node, env), node
                assert c.missing_needed(node, fast) == c.reference_missing_needed(node, env), node
            else:
                assert c.value_of(node, fast) == c.reference_value_of(node, env), node


@PROPERTY
@given(trees, v_expressions, some_answers)
def test_random_trees_evaluate_as_the_reference(
    raw: Any, v: Any, answers: dict[str, c.Known]
) -> None:
    env = c.Env(
        answers=answers,
        constants={"pm": Decimal(3)},
        values={"v": EXPR.validate_python(v)},
        today=dt.date(2026, 11, 24),
    )
    _same_everywhere(CONDITION.validate_python(raw), env)
    _same_everywhere(env.values["v"], env)


@PROPERTY
@given(some_answers)
def test_a_cycle_among_named_values_is_cut_off_as_in_the_reference(
    answers: dict[str, c.Known],
) -> None:
    # the loader refuses cycles; evaluating one anyway must not hang or crash a chat
    values = {
        "v": {"add": [{"value": "w"}, {"answer": "n"}]},
        "w": {"if": {"yes": "p"}, "then": {"value": "v"}, "else": {"answer": "m"}},
    }
    env = c.Env(
        answers=answers,
        values={k: EXPR.validate_python(e) for k, e in values.items()},
        today=dt.date(2026, 11, 24),
    )
    _same_everywhere(CONDITION.validate_python({"lt": [{"value": "v"}, 5]}), env)


# -- the point of it: no tree walk on the questionnaire's path ---------------------------


def test_asking_the_next_question_walks_no_tree() -> None:
    answers = decode(DATA, {"idp_certificate": True, "children_count": 2})
    rules.next_question(DATA, answers, TODAY)  # compiles what is not compiled yet
    with ExitStack() as stack:
        for name in ("children", "reference_evaluate", "reference_value_of", "_compile_cond"):
            stack.enter_context(mock.patch.object(c, name, side_effect=AssertionError(name)))
        question = rules.next_question(DATA, answers, TODAY)
        rules.decide(DATA, answers, TODAY)
    assert question is not None


def test_forced_leaves_still_explain_what_would_change() -> None:
    # `changes` forces one leaf at a time; the compiled form knows nothing of that
    active = next(a for a in DATA.active(TODAY) if a.id == "basic_social_assistance")
    answers = decode(
        DATA, {"household_size": 1, "income_monthly": "4500", "deposit_over_100k": True}
    )
    eligibility = active.version.eligibility
    assert isinstance(eligibility, c.All)
    leaf = eligibility.all[1]  # not: {yes: deposit_over_100k}
    env = rules.environment(DATA, answers, TODAY)
    assert c.evaluate(active.version.eligibility, env) is False
    forced = c.Env(env.answers, env.constants, env.values, env.today, forced={id(leaf): True})
    assert c.evaluate(active.version.eligibility, forced) is c.reference_evaluate(
        active.version.eligibility, forced
    )
    assert c.evaluate(leaf, forced) is True


@PROPERTY
@given(st.integers(min_value=1, max_value=40), some_answers)
def test_deep_nesting_is_cut_off_at_the_same_depth(
    length: int, answers: dict[str, c.Known]
) -> None:
    # v0 = v1 + 1, v1 = v2 + 1, …: past a depth of 50 the value is unknown, in both forms
    chain: dict[str, object] = {
        f"v{i}": {"add": [{"value": f"v{i + 1}"}, 1]} for i in range(length)
    }
    chain[f"v{length}"] = {"answer": "n"}
    env = c.Env(
        answers=answers,
        values={k: EXPR.validate_python(e) for k, e in chain.items()},
        today=dt.date(2026, 11, 24),
    )
    kept = dataclasses.replace(env, memo={})
    _same_everywhere(CONDITION.validate_python({"ge": [{"value": "v0"}, 0]}), env, kept)
    # the same named values again, now nearer the top: what was cut off deep down is not here
    for name in chain:
        _same_everywhere(EXPR.validate_python({"value": name}), env, kept)


# -- what is still needed is remembered for the step that comes next ---------------------


def test_the_same_answers_are_worked_out_once() -> None:
    data = demo_copy()
    answers = decode(data, {"idp_certificate": False, "children_count": 1})
    with mock.patch.object(c, "missing_needed", wraps=c.missing_needed) as worked:
        first = rules.next_question(data, answers, TODAY)  # the step taking the answer
        again = rules.next_question(data, dict(answers), TODAY)  # the step it leads to
        assert worked.call_count == len(data.active(TODAY))
        assert first is again is not None
        # any other answer, or another day, is worked out afresh
        answers["children_under_6"] = Decimal(1)
        assert rules.next_question(data, answers, TODAY) != first
        rules.next_question(data, answers, TODAY + dt.timedelta(days=1))
        assert worked.call_count == 3 * len(data.active(TODAY))
        # an answer the same in value but of another type is not the same answer
        rules.next_question(data, {"idp_certificate": 0}, TODAY)  # type: ignore[dict-item]
        rules.next_question(data, {"idp_certificate": False}, TODAY)
        assert worked.call_count == 5 * len(data.active(TODAY))


def test_only_the_last_few_results_are_kept() -> None:
    recent = Recent(3)
    for n in range(5):
        recent.put(n, str(n))
    recent.put(4, "four")
    assert [recent.get(n) for n in range(5)] == [None, None, "2", "3", "four"]
    nothing = Recent(0)  # keeping nothing is allowed (to measure without it)
    nothing.put(1, "one")
    assert nothing.get(1) is None


def demo_copy() -> Eligibility:
    """The demo data, loaded afresh: nothing remembered from other tests."""
    data, errors = load_folder(DEMO)
    assert data is not None and not errors
    return data
