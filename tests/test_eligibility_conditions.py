"""The condition language: parsing, three-valued evaluation, and what is still needed."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from bot.services.eligibility import conditions as c

CONDITION: TypeAdapter[Any] = TypeAdapter(c.Condition)


def cond(raw: Any) -> Any:
    return CONDITION.validate_python(raw)


EXPR: TypeAdapter[Any] = TypeAdapter(c.Expr)
PER_PERSON = EXPR.validate_python({"div": [{"answer": "income"}, {"answer": "size"}]})


def env(**answers: Any) -> c.Env:
    typed = {
        k: Decimal(v) if isinstance(v, int) and not isinstance(v, bool) else v
        for k, v in answers.items()
    }
    return c.Env(
        answers=typed,
        constants={"pm": Decimal(2595)},
        values={"per_person": PER_PERSON},
        today=dt.date(2026, 11, 24),
    )


INCOME_RULE = {
    "all": [
        {"yes": "idp"},
        {"lt": [{"value": "per_person"}, {"mul": [4, {"const": "pm"}]}]},
    ]
}


def test_three_valued_all_any_not() -> None:
    rule = cond(INCOME_RULE)
    assert c.evaluate(rule, env()) is None
    assert c.evaluate(rule, env(idp=False)) is False  # decided without the income
    assert c.evaluate(rule, env(idp=True)) is None
    assert c.evaluate(rule, env(idp=True, income=20000, size=2)) is True  # 10,000 < 10,380
    assert c.evaluate(rule, env(idp=True, income=20760, size=2)) is False  # exactly 10,380
    assert c.evaluate(cond({"any": [{"yes": "a"}, {"yes": "b"}]}), env(b=True)) is True
    assert c.evaluate(cond({"not": {"yes": "a"}}), env()) is None
    assert c.evaluate(cond({"no": "a"}), env(a=False)) is True


def test_missing_needed_prunes_decided_branches() -> None:
    rule = cond({"any": [{"yes": "idp"}, INCOME_RULE]})
    assert c.missing_needed(rule, env()) == {"idp", "income", "size"}
    assert c.missing_needed(rule, env(idp=True)) == set()  # already true
    rule = cond(INCOME_RULE)
    assert c.missing_needed(rule, env(idp=False)) == set()
    assert c.missing_needed(rule, env(idp=True, size=1)) == {"income"}


def test_if_months_since_and_membership() -> None:
    born = {"months_since": {"answer": "born"}}
    assert c.evaluate(cond({"lt": [born, 12]}), env(born=dt.date(2025, 11, 25))) is True
    assert c.evaluate(cond({"lt": [born, 12]}), env(born=dt.date(2025, 11, 24))) is False
    pick = EXPR.validate_python(
        {"if": {"ge": [{"answer": "born"}, dt.date(2026, 1, 1)]}, "then": 50000, "else": 41280}
    )
    assert c.value_of(pick, env(born=dt.date(2026, 1, 1))) == Decimal(50000)
    assert c.value_of(pick, env(born=dt.date(2025, 12, 31))) == Decimal(41280)
    assert c.value_of(pick, env()) is None
    group = cond({"in": [{"answer": "group"}, ["group_1", "group_2"]]})
    assert c.evaluate(group, env(group="group_2")) is True
    assert c.evaluate(group, env(group="none")) is False


def test_full_months_between() -> None:
    assert c.full_months_between(dt.date(2026, 1, 31), dt.date(2026, 2, 28)) == 0
    assert c.full_months_between(dt.date(2026, 1, 31), dt.date(2026, 3, 31)) == 2
    assert c.full_months_between(dt.date(2025, 11, 24), dt.date(2026, 11, 24)) == 12


def test_division_by_zero_is_unknown_not_a_crash() -> None:
    rule = cond({"lt": [{"div": [{"answer": "income"}, {"answer": "size"}]}, 5]})
    assert c.evaluate(rule, env(income=10, size=0)) is None


def test_text_is_data_never_code() -> None:
    rule = cond({"eq": ["__import__('os').system('echo hacked')", "x"]})
    assert c.evaluate(rule, env()) is False


def test_yaml_yes_and_no_keys_read_as_booleans_still_work() -> None:
    # YAML 1.1 turns the key `yes:` into True; the language gives it its name back
    assert c.evaluate(cond({True: "a"}), env(a=True)) is True
    assert c.evaluate(cond({False: "a"}), env(a=True)) is False


@pytest.mark.parametrize(
    "raw",
    [
        {"all": []},
        {"lt": [1]},
        {"lt": [1, 2], "gt": [1, 2]},
        {"unknown": 1},
        {"all": [{"yes": "a"}], "extra": 1},
        {"lt": [{"div": [1]}, 2]},
        "yes",
    ],
)
def test_malformed_conditions_are_rejected(raw: Any) -> None:
    with pytest.raises(ValidationError):
        cond(raw)


# -- property: answering more never changes a decided result -----------------------------

QUESTIONS = ("x", "y", "z")
numbers = st.integers(min_value=0, max_value=20)
operand = st.one_of(
    numbers,
    st.sampled_from([{"answer": q} for q in QUESTIONS]),
    st.builds(lambda q, n: {"add": [{"answer": q}, n]}, st.sampled_from(QUESTIONS), numbers),
    st.builds(lambda q, n: {"mul": [{"answer": q}, n]}, st.sampled_from(QUESTIONS), numbers),
)
leaf = st.one_of(
    st.builds(
        lambda op, a, b: {op: [a, b]}, st.sampled_from(list(c.COMPARISONS)), operand, operand
    ),
    st.builds(lambda b: {"yes": b}, st.sampled_from(["p", "q"])),
    st.builds(
        lambda q, xs: {"in": [{"answer": q}, xs]},
        st.sampled_from(QUESTIONS),
        st.lists(numbers, max_size=3),
    ),
)
conditions = st.recursive(
    leaf,
    lambda inner: st.one_of(
        st.builds(lambda xs: {"all": xs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda xs: {"any": xs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda x: {"not": x}, inner),
    ),
    max_leaves=8,
)
full_answers = st.fixed_dictionaries(
    {**{q: numbers for q in QUESTIONS}, "p": st.booleans(), "q": st.booleans()}
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conditions, full_answers, st.sets(st.sampled_from([*QUESTIONS, "p", "q"])))
def test_more_answers_never_change_a_decided_result(
    raw: Any, answers: dict[str, Any], known: set[str]
) -> None:
    rule = cond(raw)
    full = env(**answers)
    partial = env(**{k: v for k, v in answers.items() if k in known})
    complete = c.evaluate(rule, full)
    assert complete is not None  # with every answer (and no division) it is always decided
    now = c.evaluate(rule, partial)
    assert now in (None, complete)
    needed = c.missing_needed(rule, partial)
    # undecided means some missing answer is still needed, and only missing answers are
    assert (now is None) == bool(needed)
    assert needed <= set(answers) - known
