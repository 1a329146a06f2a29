"""The eligibility data as staff write it in YAML, validated with pydantic.

Files under DATA_DIR/eligibility/ (see docs/eligibility-data.md):

- questions.yaml: `questions` (asked in this order, only when needed) and `values`
  (named derived values such as income per person);
- constants.yaml: named figures with the dates they are in force (subsistence minimums …);
- places.yaml: where to apply (Diia, ЦНАП, Pension Fund, social protection), links, phones;
- programmes/*.yaml: one programme per file, with dated versions of its rules and amounts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, model_validator

from bot.services.eligibility.conditions import Condition, Expr, compiled_cond, compiled_expr
from bot.services.eligibility.text import Text

Id = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,29}$")]

#: official sites: the legislation portal and government bodies (*.gov.ua)
OFFICIAL_SUFFIX = ".gov.ua"


def is_official(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host.endswith(OFFICIAL_SUFFIX)


Money = Decimal


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# -- questions -------------------------------------------------------------------------


class Option(_Model):
    id: Id
    label: Text
    #: a typed number in [from, to] picks this option ("67" for an age band "65 or older")
    from_: StrictInt | None = Field(default=None, alias="from")
    to: StrictInt | None = None

    def takes(self, number: Decimal) -> bool:
        if self.from_ is None and self.to is None:
            return False
        return (self.from_ is None or number >= self.from_) and (
            self.to is None or number <= self.to
        )


class Question(_Model):
    id: Id
    type: Literal["yes_no", "choice", "number", "date"]
    text: Text
    #: a few words naming what is asked, used in "why not" explanations
    label: Text
    hint: Text | None = None
    #: yes/no: "what would change it" as a plain conditional, never the question's wording
    #: ("if you had a child with a disability" / "if you did not receive a pension")
    if_yes: Text | None = None
    if_no: Text | None = None
    options: list[Option] = Field(default_factory=list)
    # number
    #: a number or formula, or a list of them: every bound that can be computed applies
    #: (a formula over an answer not given yet does not)
    min: Expr | list[Expr] | None = None
    max: Expr | list[Expr] | None = None

    def bounds(self, which: str) -> list[Any]:
        bound = getattr(self, which)
        if bound is None:
            return []
        return list(bound) if isinstance(bound, list) else [bound]

    #: said when a typed number is outside a bound computed from earlier answers, e.g.
    #: "you counted {min_minus_one} children, so your family is at least {min} people";
    #: placeholders: {min}, {max}, {min_minus_one}
    min_why: Text | None = None
    max_why: Text | None = None
    integer: bool = False
    unit: Literal["UAH"] | None = None
    #: numbers offered as buttons (typing any other number still works); a button outside
    #: the bounds that earlier answers set is not offered
    buttons: list[StrictInt] = Field(default_factory=list)
    #: the last number button reads "5+" (typing a bigger number still works)
    last_button_plus: bool = False
    # date
    not_in_future: bool = True
    max_years_ago: int | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Question:
        if self.type == "choice" and len(self.options) < 2:
            raise ValueError("a choice question needs at least 2 options")
        if self.type != "choice" and self.options:
            raise ValueError("only a choice question has options")
        if len({o.id for o in self.options}) != len(self.options):
            raise ValueError("option ids must be unique")
        if self.type != "number" and (self.buttons or self.unit or self.integer):
            raise ValueError("buttons, unit and integer are for number questions")
        return self


class NamedValue(_Model):
    """A value computed from answers, e.g. income per person; named once, used by many rules."""

    id: Id
    label: Text
    unit: Literal["UAH"] | None = None
    formula: Expr


# -- constants ---------------------------------------------------------------------------


class Dated(_Model):
    valid_from: dt.date
    valid_to: dt.date | None = None

    def in_force(self, on: dt.date) -> bool:
        return self.valid_from <= on and (self.valid_to is None or on <= self.valid_to)

    @model_validator(mode="after")
    def _ordered(self) -> Dated:
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise ValueError("valid_to is before valid_from")
        return self


class ConstantValue(Dated):
    value: StrictInt | StrictFloat
    source: str = Field(pattern=r"^https?://")
    checked: dt.date
    note: str | None = None  # for staff only (why a figure is uncertain …)


class Constant(_Model):
    id: Id
    title: Text
    unit: Literal["UAH"] | None = None
    values: list[ConstantValue] = Field(min_length=1)

    def on(self, day: dt.date) -> Decimal | None:
        for item in self.values:
            if item.in_force(day):
                return Decimal(str(item.value))
        return None


# -- places ------------------------------------------------------------------------------


class Place(_Model):
    id: Id
    kind: Literal["diia", "cnap", "pfu", "social_protection", "other"]
    title: Text
    #: how a programme's details name it in one line ("Pension Fund", "ЦНАП")
    short_title: Text
    details: Text | None = None
    url: str | None = Field(default=None, pattern=r"^https?://")
    phone: str | None = None


class PlaceRef(_Model):
    place: str
    note: Text | None = None


# -- programmes --------------------------------------------------------------------------


class Amount(_Model):
    #: a fixed sum, or a formula over answers, constants and values; neither: see `text`
    #: and `depends`
    value: StrictInt | StrictFloat | None = None
    formula: Expr | None = None
    #: how to read the sum: exactly, about (estimate), up to, from (at least)
    qualifier: Literal["exact", "about", "up_to", "from"] = "exact"
    period: Literal["once", "month"]
    #: how it is calculated, in plain words; {constant_id} is replaced by its figure
    text: Text
    checked: dt.date
    source: str = Field(pattern=r"^https?://")
    #: when no sum can be given: a few words finishing "the amount depends on …"
    depends: Text | None = None

    @model_validator(mode="after")
    def _one_way(self) -> Amount:
        if self.value is not None and self.formula is not None:
            raise ValueError("give either value or formula, not both")
        return self


class Version(Dated):
    """The rules and amount of a programme for the period they are in force."""

    legal_act: Text
    #: where the rule is written: the act's official text and official notices (at least
    #: one on an official site, see OFFICIAL_HOSTS); a news article only as a second source
    sources: list[Annotated[str, Field(pattern=r"^https://")]] = Field(min_length=1)
    amount: Amount
    eligibility: Condition
    #: what is special about this period (a transition rule …)
    note: Text | None = None
    #: what could not be confirmed from an official source: what the person should check
    #: and where (shown with the programme's details)
    check: Text | None = None


class Programme(_Model):
    id: Id
    title: Text
    #: the name on a button and in the one-line result (at most 40 characters)
    short_title: Text
    summary: Text
    #: the single next step, shown under the programme in the result (at most 90 characters)
    next_step: Text
    documents: list[Text] = Field(min_length=1)
    how_to_apply: Text
    where: list[PlaceRef] = Field(min_length=1)
    versions: list[Version] = Field(min_length=1)

    def version_on(self, day: dt.date) -> Version | None:
        return next((v for v in self.versions if v.in_force(day)), None)


# -- files -------------------------------------------------------------------------------


class QuestionsFile(_Model):
    questions: list[Question] = Field(min_length=1)
    values: list[NamedValue] = Field(default_factory=list)


class ConstantsFile(_Model):
    constants: list[Constant] = Field(default_factory=list)


class PlacesFile(_Model):
    places: list[Place] = Field(min_length=1)


def _where_item(value: Any) -> Any:
    return {"place": value} if isinstance(value, str) else value


class ProgrammeFile(Programme):
    @model_validator(mode="before")
    @classmethod
    def _short_where(cls, data: Any) -> Any:
        # `where: [diia, pfu]` is the short form of `where: [{place: diia}, {place: pfu}]`
        if isinstance(data, dict) and isinstance(data.get("where"), list):
            data = {**data, "where": [_where_item(item) for item in data["where"]]}
        return data


# -- the loaded whole --------------------------------------------------------------------


class Active:
    """A programme together with the version of its rules in force on one day."""

    __slots__ = ("programme", "version")

    def __init__(self, programme: Programme, version: Version) -> None:
        self.programme = programme
        self.version = version

    @property
    def id(self) -> str:
        return self.programme.id

    def __repr__(self) -> str:
        return f"Active({self.programme.id}, from {self.version.valid_from})"


@dataclass(frozen=True, slots=True)
class Day:
    """What the rules need for one day, worked out once: programmes in force and constants."""

    active: tuple[Active, ...]
    constants: Mapping[str, Decimal]


#: days remembered per data set: a check keeps the day it started on, so only the last
#: few days (around midnight) are in use at once
_DAYS_KEPT = 8


class Recent:
    """The last few results of a pure computation, oldest forgotten first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: dict[Hashable, Any] = {}

    def get(self, key: Hashable) -> Any:
        return self._items.get(key)

    def put(self, key: Hashable, value: Any) -> None:
        items = self._items
        if self.size <= 0:
            return
        if key not in items and len(items) >= self.size:
            items.pop(next(iter(items)))
        items[key] = value


class Eligibility:
    """Everything the eligibility check needs, validated; shared read-only by all chats."""

    def __init__(
        self,
        questions: list[Question],
        values: list[NamedValue],
        constants: list[Constant],
        places: list[Place],
        programmes: list[Programme],
    ) -> None:
        self.questions = {q.id: q for q in questions}
        self.order = {q.id: i for i, q in enumerate(questions)}
        self.values = {v.id: v for v in values}
        self.constants = {c.id: c for c in constants}
        self.places = {p.id: p for p in places}
        self.programmes = programmes
        self.formulas: Mapping[str, Any] = MappingProxyType(self.value_formulas())
        self._days: dict[dt.date, Day] = {}
        #: (day, answers) -> the questions still needed (bot.services.eligibility.rules)
        self.needed_cache = Recent(256)
        self._compile()

    def _compile(self) -> None:
        """Compile every rule and formula now, at start-up: the first person does not wait
        for it, and the compiled forms are made before the process freezes its objects."""
        for programme in self.programmes:
            for version in programme.versions:
                compiled_cond(version.eligibility)
                if version.amount.formula is not None:
                    compiled_expr(version.amount.formula)
        for value in self.values.values():
            compiled_expr(value.formula)
        for question in self.questions.values():
            for bound in (*question.bounds("min"), *question.bounds("max")):
                compiled_expr(bound)

    def on_day(self, on: dt.date) -> Day:
        """`active(on)` and `constants_on(on)`, computed once per day (the data never changes
        after loading; every answer in a chat would otherwise recompute them)."""
        day = self._days.get(on)
        if day is None:
            if len(self._days) >= _DAYS_KEPT:
                self._days.clear()
            day = Day(tuple(self.active(on)), MappingProxyType(self.constants_on(on)))
            self._days[on] = day
        return day

    def active(self, on: dt.date) -> list[Active]:
        """The programmes in force on a day, each with the version of its rules for that day."""
        found = []
        for programme in self.programmes:
            version = programme.version_on(on)
            if version is not None:
                found.append(Active(programme, version))
        return found

    def constants_on(self, on: dt.date) -> dict[str, Decimal]:
        values = {}
        for constant in self.constants.values():
            value = constant.on(on)
            if value is not None:
                values[constant.id] = value
        return values

    def value_formulas(self) -> dict[str, Any]:
        return {v.id: v.formula for v in self.values.values()}

    def questions_in_order(self) -> Iterator[Question]:
        yield from self.questions.values()
