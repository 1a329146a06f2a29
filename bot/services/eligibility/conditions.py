"""A small typed language for eligibility rules, written by staff in YAML.

Values (expressions):

    12000                          a number, text, yes/no or date literal
    {answer: household_size}       what the person answered
    {const: pm_child_under_6}      a named constant in force on the day (subsistence minimum …)
    {value: income_per_person}     a named derived value (defined once, in questions.yaml)
    {add: [a, b, …]} {sub: [a, b]} {mul: [a, b, …]} {div: [a, b]} {min: […]} {max: […]}
    {if: <condition>, then: a, else: b}
    {months_since: <date>} {years_since: <date>}   full months / years until the day of the check

Conditions:

    {all: [c, …]} {any: [c, …]} {not: c}
    {yes: question} {no: question}                 a yes/no answer
    {lt: [a, b]} {le: …} {gt: …} {ge: …} {eq: …} {ne: …}
    {in: [a, [x, y, …]]}

Every condition may carry `why: {uk: …, en: …}`: the plain-language reason shown
when that part is what rules a person out, and `change: {uk: …, en: …}`: the plain
conditional ("if you were registered at the employment centre") shown when meeting
that part alone would make the person eligible.

Evaluation uses three-valued (Kleene) logic: a missing answer makes a part
*unknown* (`None`) unless the rest already decides it, so the questionnaire can
stop as soon as every programme is decided. Nothing is ever `eval`-ed: the YAML
is parsed into these pydantic models, which are turned into plain closures once
(`compiled_cond`); `reference_evaluate` and friends walk the models and stay as
the specification the compiled form is tested against.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from decimal import Decimal, DivisionByZero, InvalidOperation
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    Tag,
    model_validator,
)

from bot.services.eligibility.text import Text

Known = Decimal | bool | str | dt.date
Value = Known | None  # None: unknown (an answer is missing, or it cannot be computed)
Truth = bool | None


def yaml_keys(value: Any) -> Any:
    """YAML 1.1 reads the keys `yes:` and `no:` as booleans; give them their names back."""
    if isinstance(value, dict) and any(isinstance(key, bool) for key in value):
        return {
            ("yes" if key else "no") if isinstance(key, bool) else key: item
            for key, item in value.items()
        }
    return value


class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _yaml_keys(cls, value: Any) -> Any:
        return yaml_keys(value)


# -- expressions ---------------------------------------------------------------------


class AnswerRef(_Node):
    answer: str


class ConstRef(_Node):
    const: str


class ValueRef(_Node):
    value: str


class Add(_Node):
    add: list[Expr] = Field(min_length=2)


class Sub(_Node):
    sub: tuple[Expr, Expr]


class Mul(_Node):
    mul: list[Expr] = Field(min_length=2)


class Div(_Node):
    div: tuple[Expr, Expr]


class Min(_Node):
    min: list[Expr] = Field(min_length=2)


class Max(_Node):
    max: list[Expr] = Field(min_length=2)


class If(_Node):
    if_: Condition = Field(alias="if")
    then: Expr
    else_: Expr = Field(alias="else")


class MonthsSince(_Node):
    months_since: Expr


class YearsSince(_Node):
    years_since: Expr


Literal_ = StrictBool | StrictInt | StrictFloat | StrictStr | dt.date

EXPR_TAGS: dict[str, type[_Node]] = {
    "answer": AnswerRef,
    "const": ConstRef,
    "value": ValueRef,
    "add": Add,
    "sub": Sub,
    "mul": Mul,
    "div": Div,
    "min": Min,
    "max": Max,
    "if": If,
    "months_since": MonthsSince,
    "years_since": YearsSince,
}

# -- conditions ----------------------------------------------------------------------


class _Cond(_Node):
    why: Text | None = None
    #: "what would change it" in plain words, e.g. "if you were registered at the
    #: employment centre"; shown when flipping this part alone would make the person eligible
    change: Text | None = None


class All(_Cond):
    all: list[Condition] = Field(min_length=1)


class Any_(_Cond):
    any: list[Condition] = Field(min_length=1)


class Not(_Cond):
    not_: Condition = Field(alias="not")


class Yes(_Cond):
    yes: str


class No(_Cond):
    no: str


class Lt(_Cond):
    lt: tuple[Expr, Expr]


class Le(_Cond):
    le: tuple[Expr, Expr]


class Gt(_Cond):
    gt: tuple[Expr, Expr]


class Ge(_Cond):
    ge: tuple[Expr, Expr]


class Eq(_Cond):
    eq: tuple[Expr, Expr]


class Ne(_Cond):
    ne: tuple[Expr, Expr]


class In(_Cond):
    in_: tuple[Expr, list[Literal_]] = Field(alias="in")


COND_TAGS: dict[str, type[_Node]] = {
    "all": All,
    "any": Any_,
    "not": Not,
    "yes": Yes,
    "no": No,
    "lt": Lt,
    "le": Le,
    "gt": Gt,
    "ge": Ge,
    "eq": Eq,
    "ne": Ne,
    "in": In,
}
COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
}
NEGATED = {"lt": "ge", "le": "gt", "gt": "le", "ge": "lt", "eq": "ne", "ne": "eq"}


def _tag_of(tags: Mapping[str, type[_Node]]) -> Callable[[Any], str | None]:
    def tag(value: Any) -> str | None:
        if isinstance(value, _Node):
            return next((t for t, cls in tags.items() if type(value) is cls), None)
        if isinstance(value, dict):
            found = [key for key in yaml_keys(value) if key in tags]
            return found[0] if len(found) == 1 else None
        return None

    return tag


ExprNode = Annotated[
    Annotated[AnswerRef, Tag("answer")]
    | Annotated[ConstRef, Tag("const")]
    | Annotated[ValueRef, Tag("value")]
    | Annotated[Add, Tag("add")]
    | Annotated[Sub, Tag("sub")]
    | Annotated[Mul, Tag("mul")]
    | Annotated[Div, Tag("div")]
    | Annotated[Min, Tag("min")]
    | Annotated[Max, Tag("max")]
    | Annotated[If, Tag("if")]
    | Annotated[MonthsSince, Tag("months_since")]
    | Annotated[YearsSince, Tag("years_since")],
    Discriminator(
        _tag_of(EXPR_TAGS),
        custom_error_type="invalid_value",
        custom_error_message=(
            "a value must be a number, a text, or have exactly one of: " + ", ".join(EXPR_TAGS)
        ),
    ),
]
Expr = Annotated[
    Annotated[Literal_, Tag("literal")] | Annotated[ExprNode, Tag("expr")],
    Discriminator(lambda v: "expr" if isinstance(v, _Node | dict) else "literal"),
]
Condition = Annotated[
    Annotated[All, Tag("all")]
    | Annotated[Any_, Tag("any")]
    | Annotated[Not, Tag("not")]
    | Annotated[Yes, Tag("yes")]
    | Annotated[No, Tag("no")]
    | Annotated[Lt, Tag("lt")]
    | Annotated[Le, Tag("le")]
    | Annotated[Gt, Tag("gt")]
    | Annotated[Ge, Tag("ge")]
    | Annotated[Eq, Tag("eq")]
    | Annotated[Ne, Tag("ne")]
    | Annotated[In, Tag("in")],
    Discriminator(
        _tag_of(COND_TAGS),
        custom_error_type="invalid_condition",
        custom_error_message="a condition must have exactly one of: " + ", ".join(COND_TAGS),
    ),
]

for _model in (*EXPR_TAGS.values(), *COND_TAGS.values()):
    _model.model_rebuild()

CondNode = All | Any_ | Not | Yes | No | Lt | Le | Gt | Ge | Eq | Ne | In


# -- evaluation ----------------------------------------------------------------------


@dataclass
class Env:
    """What a rule is evaluated against: answers, constants and values on one day."""

    answers: Mapping[str, Known]
    constants: Mapping[str, Decimal] = field(default_factory=dict)
    values: Mapping[str, Any] = field(default_factory=dict)  # name -> Expr
    today: dt.date = field(default_factory=dt.date.today)
    #: leaves whose truth is forced (used to find the one change that would help)
    forced: Mapping[int, bool] = field(default_factory=dict)
    #: named values already computed, by (name, depth); only for an Env made for one
    #: computation, whose answers do not change while it lasts
    memo: dict[tuple[str, int], Value] | None = field(default=None, compare=False, repr=False)


def literal(value: Any) -> Known:
    if isinstance(value, bool | str | dt.date):
        return value
    if isinstance(value, int | float):
        return Decimal(str(value))
    return value  # type: ignore[no-any-return]


def reference_value_of(expr: Any, env: Env, _depth: int = 0) -> Value:
    """The value of an expression, or None when it depends on something unknown.

    The reference: walks the pydantic tree on every call. `value_of` gives the same
    answers from the compiled form (the tests compare the two).
    """
    if _depth > 50:
        return None  # a cycle among named values (the loader reports it)
    if not isinstance(expr, _Node):
        return literal(expr)
    return _VALUES[type(expr)](expr, env, _depth + 1)


def _value_ref(expr: ValueRef, env: Env, depth: int) -> Value:
    named = env.values.get(expr.value)
    return None if named is None else reference_value_of(named, env, depth)


def _if(expr: If, env: Env, depth: int) -> Value:
    truth = reference_evaluate(expr.if_, env)
    if truth is None:
        return None
    return reference_value_of(expr.then if truth else expr.else_, env, depth)


def _since(start_expr: Any, env: Env, depth: int, months_per_unit: int) -> Value:
    start = reference_value_of(start_expr, env, depth)
    if not isinstance(start, dt.date):
        return None
    return Decimal(full_months_between(start, env.today) // months_per_unit)


def _product(numbers: list[Decimal]) -> Decimal:
    product = Decimal(1)
    for n in numbers:
        product *= n
    return product


Operands = Callable[[Any], Sequence[Any]]
Fold = Callable[[list[Decimal]], Decimal]

#: the operations over numbers: where an expression keeps its operands, how they combine
#: (one table for the reference evaluator and the compiled one)
_OPERATIONS: dict[type[_Node], tuple[Operands, Fold]] = {
    Add: (lambda e: e.add, lambda n: sum(n, Decimal(0))),
    Mul: (lambda e: e.mul, _product),
    Min: (lambda e: e.min, min),
    Max: (lambda e: e.max, max),
    Sub: (lambda e: e.sub, lambda n: n[0] - n[1]),
    Div: (lambda e: e.div, lambda n: n[0] / n[1]),
}


def _folded(fold: Fold, numbers: list[Value]) -> Value:
    """Unknown if any operand is, or if the operation cannot be computed."""
    if not all(isinstance(n, Decimal) for n in numbers):
        return None
    try:
        return fold(numbers)  # type: ignore[arg-type]
    except (DivisionByZero, InvalidOperation, ZeroDivisionError):
        return None


def _arithmetic(operands: Operands, fold: Fold) -> Callable[[Any, Env, int], Value]:
    def compute(expr: Any, env: Env, depth: int) -> Value:
        return _folded(fold, [reference_value_of(o, env, depth) for o in operands(expr)])

    return compute


#: how each kind of expression is computed
_VALUES: dict[type[_Node], Callable[[Any, Env, int], Value]] = {
    AnswerRef: lambda expr, env, depth: env.answers.get(expr.answer),
    ConstRef: lambda expr, env, depth: env.constants.get(expr.const),
    ValueRef: _value_ref,
    If: _if,
    MonthsSince: lambda expr, env, depth: _since(expr.months_since, env, depth, 1),
    YearsSince: lambda expr, env, depth: _since(expr.years_since, env, depth, 12),
    **{kind: _arithmetic(*operation) for kind, operation in _OPERATIONS.items()},
}


def full_months_between(start: dt.date, end: dt.date) -> int:
    """Whole months from `start` to `end` (a child born on 5 March is 1 month old on 5 April)."""
    months = (end.year - start.year) * 12 + (end.month - start.month)
    if end.day < start.day:
        months -= 1
    return months


def reference_evaluate(cond: Any, env: Env) -> Truth:
    """True, False, or None when an answer it needs is missing (the reference, see `evaluate`)."""
    forced = env.forced.get(id(cond))
    if forced is not None:
        return forced
    if isinstance(cond, All):
        results = [reference_evaluate(c, env) for c in cond.all]
        if any(r is False for r in results):
            return False
        return True if all(r is True for r in results) else None
    if isinstance(cond, Any_):
        results = [reference_evaluate(c, env) for c in cond.any]
        if any(r is True for r in results):
            return True
        return False if all(r is False for r in results) else None
    if isinstance(cond, Not):
        inner = reference_evaluate(cond.not_, env)
        return None if inner is None else not inner
    if isinstance(cond, Yes | No):
        answer = env.answers.get(cond.yes if isinstance(cond, Yes) else cond.no)
        if not isinstance(answer, bool):
            return None
        return answer if isinstance(cond, Yes) else not answer
    if isinstance(cond, In):
        item = reference_value_of(cond.in_[0], env)
        if item is None:
            return None
        return item in [literal(v) for v in cond.in_[1]]
    op, (left_expr, right_expr) = comparison(cond)
    left, right = reference_value_of(left_expr, env), reference_value_of(right_expr, env)
    if left is None or right is None:
        return None
    try:
        return COMPARISONS[op](left, right)
    except TypeError:
        return None  # mismatched types are caught by the loader; never crash a person's chat


def comparison(cond: Any) -> tuple[str, tuple[Any, Any]]:
    for op in COMPARISONS:
        if hasattr(cond, op) and isinstance(cond, _Cond):
            return op, getattr(cond, op)
    raise TypeError(f"not a comparison: {type(cond).__name__}")


# -- walking -------------------------------------------------------------------------


def children(node: Any) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """Direct sub-nodes of a condition or expression, with their path as written in YAML."""
    if not isinstance(node, _Node):
        return
    if isinstance(node, All):
        yield from ((("all", i), c) for i, c in enumerate(node.all))
    elif isinstance(node, Any_):
        yield from ((("any", i), c) for i, c in enumerate(node.any))
    elif isinstance(node, Not):
        yield ("not",), node.not_
    elif isinstance(node, In):
        yield ("in", 0), node.in_[0]
    elif isinstance(node, If):
        yield ("if",), node.if_
        yield ("then",), node.then
        yield ("else",), node.else_
    elif isinstance(node, MonthsSince):
        yield ("months_since",), node.months_since
    elif isinstance(node, YearsSince):
        yield ("years_since",), node.years_since
    else:
        for tag in ("add", "sub", "mul", "div", "min", "max", *COMPARISONS):
            operands = getattr(node, tag, None)
            if isinstance(operands, list | tuple):
                yield from (((tag, i), o) for i, o in enumerate(operands))


def walk(
    node: Any, path: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """Every node under (and including) `node`, with its YAML path."""
    yield path, node
    for sub, child in children(node):
        yield from walk(child, path + sub)


def is_leaf(cond: Any) -> bool:
    return isinstance(cond, _Cond) and not isinstance(cond, All | Any_ | Not)


def answers_used(
    node: Any, values: Mapping[str, Any], _seen: frozenset[str] = frozenset()
) -> set[str]:
    """Question ids a node depends on, through named values too."""
    used: set[str] = set()
    for _, sub in walk(node):
        if isinstance(sub, AnswerRef):
            used.add(sub.answer)
        elif isinstance(sub, Yes):
            used.add(sub.yes)
        elif isinstance(sub, No):
            used.add(sub.no)
        elif isinstance(sub, ValueRef) and sub.value in values and sub.value not in _seen:
            used |= answers_used(values[sub.value], values, _seen | {sub.value})
    return used


def reference_missing_needed(cond: Any, env: Env) -> set[str]:
    """Unanswered questions that could still change an undecided condition (the reference).

    Decided branches are pruned: a true part of an `all` or a false part of an
    `any` cannot change the outcome any more, so its questions are not needed.
    """
    if reference_evaluate(cond, env) is not None:
        return set()
    if isinstance(cond, All):
        return set().union(*(reference_missing_needed(c, env) for c in cond.all))
    if isinstance(cond, Any_):
        return set().union(*(reference_missing_needed(c, env) for c in cond.any))
    if isinstance(cond, Not):
        return reference_missing_needed(cond.not_, env)
    return _missing_in(cond, env)


def _missing_in(node: Any, env: Env, _seen: frozenset[str] = frozenset()) -> set[str]:
    if isinstance(node, If):
        truth = reference_evaluate(node.if_, env)
        if truth is None:
            return reference_missing_needed(node.if_, env)
        return _missing_in(node.then if truth else node.else_, env, _seen)
    if isinstance(node, AnswerRef):
        return set() if node.answer in env.answers else {node.answer}
    if isinstance(node, Yes | No):
        qid = node.yes if isinstance(node, Yes) else node.no
        return set() if qid in env.answers else {qid}
    if isinstance(node, ValueRef):
        named = env.values.get(node.value)
        if named is None or node.value in _seen:
            return set()
        return _missing_in(named, env, _seen | {node.value})
    found: set[str] = set()
    for _, child in children(node):
        found |= _missing_in(child, env, _seen)
    return found


# -- compiled evaluation -------------------------------------------------------------
#
# The questionnaire asks "what is still needed?" after every answer, for every programme.
# Walking the pydantic trees for that cost milliseconds per step (attribute look-ups
# through pydantic, and `missing_needed` re-evaluating every subtree at every level).
# Each tree is therefore turned once into plain closures, cached by the node's identity,
# and one pass per node gives both its truth and the questions it still needs. The
# results are those of the `reference_*` functions above, which stay as the
# specification (tests/test_eligibility_compiled.py compares the two).

#: a node's value at a nesting depth (deep nesting is cut off as `reference_value_of` does)
ValueFn = Callable[[Env, int], Value]
#: the unanswered questions an expression depends on; `seen`: named values on the way
MissingFn = Callable[[Env, frozenset[str]], AbstractSet[str]]
TruthFn = Callable[[Env], Truth]
#: a condition's truth and, when that is unknown, the questions that could decide it
NeedFn = Callable[[Env], tuple[Truth, AbstractSet[str]]]

_NOTHING: frozenset[str] = frozenset()
_MAX_DEPTH = 50


@dataclass(frozen=True, slots=True)
class CompiledExpr:
    value: ValueFn
    missing: MissingFn


@dataclass(frozen=True, slots=True)
class CompiledCond:
    truth: TruthFn
    need: NeedFn


#: id(node) -> (node, its compiled form); the node is kept so that its id is not reused
_COMPILED: dict[int, tuple[Any, Any]] = {}
#: enough for every tree of several loaded data sets; a reload past it starts afresh
_COMPILED_LIMIT = 20_000


def _cached(node: Any, build: Callable[[Any], Any]) -> Any:
    hit = _COMPILED.get(id(node))
    if hit is not None and hit[0] is node:
        return hit[1]
    compiled = build(node)
    if len(_COMPILED) >= _COMPILED_LIMIT:
        _COMPILED.clear()  # compiled trees hold their parts directly, not through this cache
    _COMPILED[id(node)] = (node, compiled)
    return compiled


def compiled_expr(expr: Any) -> CompiledExpr:
    result: CompiledExpr = _cached(expr, _compile_expr)
    return result


def compiled_cond(cond: Any) -> CompiledCond:
    result: CompiledCond = _cached(cond, _compile_cond)
    return result


def value_of(expr: Any, env: Env) -> Value:
    """The value of an expression, or None when it depends on something unknown."""
    if env.forced:
        return reference_value_of(expr, env)
    return compiled_expr(expr).value(env, 0)


def evaluate(cond: Any, env: Env) -> Truth:
    """True, False, or None when an answer it needs is missing."""
    if env.forced:
        return reference_evaluate(cond, env)  # forced leaves: only when explaining a refusal
    return compiled_cond(cond).truth(env)


def missing_needed(cond: Any, env: Env) -> set[str]:
    """Unanswered questions that could still change an undecided condition.

    Decided branches are pruned: a true part of an `all` or a false part of an
    `any` cannot change the outcome any more, so its questions are not needed.
    """
    if env.forced:
        return reference_missing_needed(cond, env)
    return set(compiled_cond(cond).need(env)[1])


# expressions


def _compile_expr(expr: Any) -> CompiledExpr:
    if not isinstance(expr, _Node):
        return _literal_expr(literal(expr))
    return _EXPR_COMPILERS[type(expr)](expr)


def _no_missing(env: Env, seen: frozenset[str]) -> AbstractSet[str]:
    return _NOTHING


def _literal_expr(known: Known) -> CompiledExpr:
    def value(env: Env, depth: int) -> Value:
        return None if depth > _MAX_DEPTH else known

    return CompiledExpr(value, _no_missing)


def _answer_expr(expr: AnswerRef) -> CompiledExpr:
    qid = expr.answer
    just = frozenset((qid,))

    def value(env: Env, depth: int) -> Value:
        return None if depth > _MAX_DEPTH else env.answers.get(qid)

    def missing(env: Env, seen: frozenset[str]) -> AbstractSet[str]:
        return _NOTHING if qid in env.answers else just

    return CompiledExpr(value, missing)


def _const_expr(expr: ConstRef) -> CompiledExpr:
    name = expr.const

    def value(env: Env, depth: int) -> Value:
        return None if depth > _MAX_DEPTH else env.constants.get(name)

    return CompiledExpr(value, _no_missing)


def _value_expr(expr: ValueRef) -> CompiledExpr:
    # the formula is looked up on every call: an Env may bring its own named values
    name = expr.value
    last: tuple[Any, CompiledExpr] | None = None  # the formula last seen, compiled

    def formula(named: Any) -> CompiledExpr:
        nonlocal last
        seen = last
        if seen is None or seen[0] is not named:
            seen = last = (named, compiled_expr(named))
        return seen[1]

    def value(env: Env, depth: int) -> Value:
        if depth > _MAX_DEPTH:
            return None
        memo = env.memo
        if memo is not None:
            key = (name, depth)
            if key in memo:
                return memo[key]
        named = env.values.get(name)
        result = None if named is None else formula(named).value(env, depth + 1)
        if memo is not None:
            memo[key] = result
        return result

    def missing(env: Env, seen: frozenset[str]) -> AbstractSet[str]:
        named = env.values.get(name)
        if named is None or name in seen:
            return _NOTHING
        return formula(named).missing(env, seen | {name})

    return CompiledExpr(value, missing)


def _if_expr(expr: If) -> CompiledExpr:
    cond = compiled_cond(expr.if_)
    then, else_ = compiled_expr(expr.then), compiled_expr(expr.else_)

    def value(env: Env, depth: int) -> Value:
        if depth > _MAX_DEPTH:
            return None
        truth = cond.truth(env)
        if truth is None:
            return None
        return (then if truth else else_).value(env, depth + 1)

    def missing(env: Env, seen: frozenset[str]) -> AbstractSet[str]:
        truth, needed = cond.need(env)
        if truth is None:
            return needed
        return (then if truth else else_).missing(env, seen)

    return CompiledExpr(value, missing)


def _since_expr(start_expr: Any, months_per_unit: int) -> CompiledExpr:
    start_of = compiled_expr(start_expr)

    def value(env: Env, depth: int) -> Value:
        if depth > _MAX_DEPTH:
            return None
        start = start_of.value(env, depth + 1)
        if not isinstance(start, dt.date):
            return None
        return Decimal(full_months_between(start, env.today) // months_per_unit)

    return CompiledExpr(value, start_of.missing)


def _union_missing(parts: Sequence[CompiledExpr]) -> MissingFn:
    missings = [p.missing for p in parts]

    def missing(env: Env, seen: frozenset[str]) -> AbstractSet[str]:
        found: AbstractSet[str] = _NOTHING
        for part in missings:
            more = part(env, seen)
            if more:
                found = found | more
        return found

    return missing


def _arithmetic_expr(operands: Operands, fold: Fold) -> Callable[[Any], CompiledExpr]:
    def build(expr: Any) -> CompiledExpr:
        parts = [compiled_expr(o) for o in operands(expr)]
        values = [p.value for p in parts]

        def value(env: Env, depth: int) -> Value:
            if depth > _MAX_DEPTH:
                return None
            # every operand is computed, as the reference does (an error is never skipped)
            return _folded(fold, [v(env, depth + 1) for v in values])

        return CompiledExpr(value, _union_missing(parts))

    return build


_EXPR_COMPILERS: dict[type[_Node], Callable[[Any], CompiledExpr]] = {
    AnswerRef: _answer_expr,
    ConstRef: _const_expr,
    ValueRef: _value_expr,
    If: _if_expr,
    MonthsSince: lambda expr: _since_expr(expr.months_since, 1),
    YearsSince: lambda expr: _since_expr(expr.years_since, 12),
    **{kind: _arithmetic_expr(*operation) for kind, operation in _OPERATIONS.items()},
}


# conditions


def _compile_cond(cond: Any) -> CompiledCond:
    if isinstance(cond, All):
        return _junction([compiled_cond(c) for c in cond.all], decisive=False)
    if isinstance(cond, Any_):
        return _junction([compiled_cond(c) for c in cond.any], decisive=True)
    if isinstance(cond, Not):
        return _not_cond(compiled_cond(cond.not_))
    if isinstance(cond, Yes | No):
        return _yes_no_cond(cond.yes if isinstance(cond, Yes) else cond.no, isinstance(cond, Yes))
    if isinstance(cond, In):
        return _in_cond(cond)
    op, (left_expr, right_expr) = comparison(cond)
    return _comparison_cond(COMPARISONS[op], compiled_expr(left_expr), compiled_expr(right_expr))


def _junction(parts: list[CompiledCond], decisive: bool) -> CompiledCond:
    """`all` (decisive: False) and `any` (decisive: True): one part with the decisive
    value decides; otherwise unknown while a part is unknown, else the other value."""
    truths = [p.truth for p in parts]
    needs = [p.need for p in parts]
    other = not decisive

    def truth(env: Env) -> Truth:
        results = [t(env) for t in truths]
        if decisive in results:
            return decisive
        return None if None in results else other

    def need(env: Env) -> tuple[Truth, AbstractSet[str]]:
        decided = unknown = False
        found: AbstractSet[str] = _NOTHING
        for part in needs:
            result, missing = part(env)
            if result is decisive:
                decided = True
            elif result is None:
                unknown = True
                if missing:
                    found = found | missing
        if decided:
            return decisive, _NOTHING
        return (None, found) if unknown else (other, _NOTHING)

    return CompiledCond(truth, need)


def _not_cond(part: CompiledCond) -> CompiledCond:
    inner_truth, inner_need = part.truth, part.need

    def truth(env: Env) -> Truth:
        inner = inner_truth(env)
        return None if inner is None else not inner

    def need(env: Env) -> tuple[Truth, AbstractSet[str]]:
        inner, missing = inner_need(env)
        return (None, missing) if inner is None else (not inner, _NOTHING)

    return CompiledCond(truth, need)


def _leaf(truth: TruthFn, missing: Callable[[Env], AbstractSet[str]]) -> CompiledCond:
    def need(env: Env) -> tuple[Truth, AbstractSet[str]]:
        result = truth(env)
        return (None, missing(env)) if result is None else (result, _NOTHING)

    return CompiledCond(truth, need)


def _yes_no_cond(qid: str, wants_yes: bool) -> CompiledCond:
    just = frozenset((qid,))

    def truth(env: Env) -> Truth:
        answer = env.answers.get(qid)
        if not isinstance(answer, bool):
            return None
        return answer if wants_yes else not answer

    # the most common part of a rule: one look-up gives both answers
    def need(env: Env) -> tuple[Truth, AbstractSet[str]]:
        answers = env.answers
        answer = answers.get(qid)
        if isinstance(answer, bool):
            return (answer if wants_yes else not answer), _NOTHING
        return None, (_NOTHING if qid in answers else just)

    return CompiledCond(truth, need)


def _in_cond(cond: In) -> CompiledCond:
    item_of = compiled_expr(cond.in_[0])
    item_value, item_missing = item_of.value, item_of.missing
    options = [literal(v) for v in cond.in_[1]]

    def truth(env: Env) -> Truth:
        item = item_value(env, 0)
        if item is None:
            return None
        return item in options

    return _leaf(truth, lambda env: item_missing(env, _NOTHING))


def _comparison_cond(
    compare: Callable[[Any, Any], bool], left_of: CompiledExpr, right_of: CompiledExpr
) -> CompiledCond:
    left_value, right_value = left_of.value, right_of.value
    left_missing, right_missing = left_of.missing, right_of.missing

    def truth(env: Env) -> Truth:
        left, right = left_value(env, 0), right_value(env, 0)
        if left is None or right is None:
            return None
        try:
            return compare(left, right)
        except TypeError:
            return None  # mismatched types are caught by the loader; never crash a person's chat

    def need(env: Env) -> tuple[Truth, AbstractSet[str]]:
        result = truth(env)
        if result is not None:
            return result, _NOTHING
        found = left_missing(env, _NOTHING)
        more = right_missing(env, _NOTHING)
        return None, (found | more if found and more else found or more)

    return CompiledCond(truth, need)
