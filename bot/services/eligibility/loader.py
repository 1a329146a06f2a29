"""Read and check DATA_DIR/eligibility/: every problem reported as file:line: message.

Checks, beyond the schema: every text in both languages, every condition
referring to an existing question / value / constant and comparing things of
the same kind (an income with a number, a choice with one of its options),
no question that no programme uses, no overlapping versions of a programme, and
a figure for every constant on every day a programme version using it is in force.
"""

from __future__ import annotations

import datetime as dt
import itertools
import string
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from bot.datafiles import DataError, YamlDocument, read_yaml
from bot.services.eligibility import conditions as c
from bot.services.eligibility import contradictions
from bot.services.eligibility.model import (
    Constant,
    ConstantsFile,
    Eligibility,
    NamedValue,
    Place,
    PlacesFile,
    Programme,
    ProgrammeFile,
    Question,
    QuestionsFile,
    is_official,
)

FOLDER = "eligibility"
SHORT_TITLE_MAX = 40
NEXT_STEP_MAX = 90
#: the parts of a programme's details that are never left out (title, amount "depends on",
#: documents, how to apply, where, what to check, legal act, the act's link) must leave room in
#: one 700-character phone message for the dialog's own words
DETAILS_REQUIRED_MAX = 585
Path_ = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)

_TAGS = set(c.COND_TAGS) | set(c.EXPR_TAGS)
_UNION_NOISE = {"expr", "literal", "int", "float", "str", "bool", "date", "none"}


def load_eligibility(data_dir: Path) -> tuple[Eligibility | None, list[DataError]]:
    """The eligibility data, or None and the problems found.

    A data folder without an eligibility/ subfolder simply has no eligibility
    check (the dialog then says so); anything present must be right.
    """
    folder = data_dir / FOLDER
    if not folder.is_dir():
        return None, []
    return load_folder(folder)


def load_folder(folder: Path) -> tuple[Eligibility | None, list[DataError]]:
    errors: list[DataError] = []
    questions_doc, questions_file = _read(folder / "questions.yaml", QuestionsFile, errors)
    constants_doc, constants_file = _read(
        folder / "constants.yaml", ConstantsFile, errors, optional=True
    )
    places_doc, places_file = _read(folder / "places.yaml", PlacesFile, errors)
    programme_files = sorted((folder / "programmes").glob("*.yaml"))
    if not programme_files:
        errors.append(DataError(folder / "programmes", None, "no programme files (*.yaml)"))
    programmes: list[tuple[YamlDocument, Programme]] = []
    for file in programme_files:
        doc, parsed = _read(file, ProgrammeFile, errors)
        if doc is not None and parsed is not None:
            programmes.append((doc, parsed))
    all_programmes_read = len(programmes) == len(programme_files)
    if questions_doc is None or questions_file is None or places_file is None:
        return None, errors
    assert places_doc is not None
    constants = constants_file.constants if constants_file else []
    checker = _Checker(
        questions_doc,
        questions_file.questions,
        questions_file.values,
        constants_doc,
        constants,
        places_doc,
        places_file.places,
    )
    checker.check_definitions()
    for doc, programme in programmes:
        checker.check_programme(doc, programme)
    checker.check_duplicate_programmes(programmes)
    # Only on otherwise sound data: a broken file or a mistyped reference would make
    # the questions it uses look unused, burying the real problem under false ones.
    if all_programmes_read and not errors and not checker.errors:
        checker.check_reachable()
    errors.extend(checker.errors)
    for doc, programme in programmes:
        errors.extend(contradictions.check_programme(doc, programme))
    if errors:
        return None, errors
    return (
        Eligibility(
            questions_file.questions,
            questions_file.values,
            constants,
            places_file.places,
            [p for _, p in programmes],
        ),
        [],
    )


# -- schema ----------------------------------------------------------------------------


def _read(
    file: Path, model: type[M], errors: list[DataError], *, optional: bool = False
) -> tuple[YamlDocument | None, M | None]:
    if not file.exists():
        if not optional:
            errors.append(DataError(file, None, "file not found"))
        return None, None
    doc, problems = read_yaml(file)
    if doc is None:
        errors.extend(problems)
        return None, None
    if not isinstance(doc.data, dict):
        errors.append(DataError(file, 1, "expected a mapping of fields (name: value)"))
        return doc, None
    try:
        return doc, model.model_validate(doc.data)
    except ValidationError as exc:
        errors.extend(schema_errors(doc, exc))
        return doc, None


def schema_errors(doc: YamlDocument, exc: ValidationError) -> list[DataError]:
    """pydantic's errors in the words and at the lines staff see in their editor."""
    found: dict[Path_, DataError] = {}
    for error in exc.errors(include_url=False):
        path = _clean(error["loc"])
        known = _known_prefix(doc, path)
        kind = error["type"]
        if kind == "missing":
            name = path[len(known)] if len(path) > len(known) else path[-1]
            message = f"'{name}' is missing"
            if name in ("uk", "en"):
                message += " (every text needs both uk and en)"
        elif kind == "extra_forbidden":
            message = f"unknown field '{path[-1]}' (check the spelling)"
            known = known[:-1] if known and known[-1] == path[-1] else known
        elif kind in ("string_pattern_mismatch", "string_too_short") and path[-1:] in (
            ("uk",),
            ("en",),
        ):
            message = f"'{path[-1]}' is empty (every text needs both uk and en)"
        elif kind == "string_pattern_mismatch" and path and path[-1] in ("source", "url"):
            message = "must be a link starting with https://"
        elif kind == "string_pattern_mismatch":
            message = "an id uses small Latin letters, digits and _ (at most 30 characters)"
        else:
            message = str(error["msg"]).removeprefix("Value error, ")
        where = _dotted(known)
        text = f"{where}: {message}" if where else message
        key = known if kind not in ("missing", "extra_forbidden") else path
        found.setdefault(key, DataError(doc.file, doc.line(*path), text))
    return list(found.values())


def _clean(loc: Sequence[str | int]) -> Path_:
    """pydantic's error location as the path of keys in the YAML file.

    A discriminated union puts its tag before the field: ("lt", "lt", 0) is the
    key `lt:`, while ("gt", "why") is the key `why:` next to `gt:`.
    """
    parts = [
        p
        for p in loc
        if not (
            isinstance(p, str)
            and (p in _UNION_NOISE or p.startswith(("function-", "tagged-union", "constrained-")))
        )
    ]
    cleaned: list[str | int] = []
    i = 0
    while i < len(parts):
        part = parts[i]
        following = parts[i + 1] if i + 1 < len(parts) else None
        if part in _TAGS and isinstance(following, str):
            if following == part:
                i += 1  # the tag and its own field: one key
            else:
                i += 1
                continue  # the tag of a model whose other field failed
        cleaned.append(part)
        i += 1
    return tuple(cleaned)


def _known_prefix(doc: YamlDocument, path: Path_) -> Path_:
    for end in range(len(path), -1, -1):
        if path[:end] in doc.lines:
            return path[:end]
    return ()


def _dotted(path: Path_) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


# -- meaning ---------------------------------------------------------------------------

Kind = tuple[str, str] | str | None  # "number", "bool", "date", "text", ("choice", qid)


class _Checker:
    def __init__(
        self,
        questions_doc: YamlDocument,
        questions: list[Question],
        values: list[NamedValue],
        constants_doc: YamlDocument | None,
        constants: list[Constant],
        places_doc: YamlDocument,
        places: list[Place],
    ) -> None:
        self.questions_doc = questions_doc
        self.constants_doc = constants_doc
        self.places_doc = places_doc
        self.questions = {q.id: q for q in questions}
        self.question_index = {q.id: i for i, q in enumerate(questions)}
        self.values = {v.id: v for v in values}
        self.value_index = {v.id: i for i, v in enumerate(values)}
        self.constants = {k.id: k for k in constants}
        self.places = {p.id: p for p in places}
        self.errors: list[DataError] = []
        self.used: set[str] = set()
        self._value_kinds: dict[str, Kind] = {}
        self._duplicates(questions_doc, "questions", [q.id for q in questions], "question")
        self._duplicates(questions_doc, "values", [v.id for v in values], "value")
        if constants_doc is not None:
            self._duplicates(constants_doc, "constants", [k.id for k in constants], "constant")
        self._duplicates(places_doc, "places", [p.id for p in places], "place")
        clash = set(self.questions) & set(self.values)
        for name in sorted(clash):
            self._error(
                questions_doc,
                ("values", self.value_index[name]),
                f"'{name}' is both a question and a value",
            )

    # -- helpers ---------------------------------------------------------------------
    def _error(self, doc: YamlDocument | None, path: Path_, message: str) -> None:
        file = doc.file if doc else self.questions_doc.file
        self.errors.append(DataError(file, doc.line(*path) if doc else None, message))

    def _duplicates(self, doc: YamlDocument, key: str, ids: list[str], what: str) -> None:
        seen: set[str] = set()
        for i, item in enumerate(ids):
            if item in seen:
                self._error(doc, (key, i, "id"), f"{what} id '{item}' is used twice")
            seen.add(item)

    # -- definitions -----------------------------------------------------------------
    def check_definitions(self) -> None:
        doc = self.questions_doc
        for value in self.values.values():
            path: Path_ = ("values", self.value_index[value.id], "formula")
            if self._cycle(value.id):
                self._error(doc, path, f"value '{value.id}' is defined in terms of itself")
                self._value_kinds[value.id] = None
                continue
            kind = self._value_kind(value.id)
            if kind not in ("number", None):
                self._error(doc, path, f"value '{value.id}' must be a number")
        for question in self.questions.values():
            base: Path_ = ("questions", self.question_index[question.id])
            if question.type == "yes_no" and (question.if_yes is None or question.if_no is None):
                self._error(
                    doc,
                    (*base, "id"),
                    f"question '{question.id}': a yes/no question needs if_yes and if_no "
                    '("if you had …"), so hints never quote the question',
                )
            for bound in ("min", "max"):
                exprs = question.bounds(bound)
                if exprs and question.type != "number":
                    self._error(doc, (*base, bound), f"{bound} is for number questions")
                    continue
                listed = isinstance(getattr(question, bound), list)
                for j, expr in enumerate(exprs):
                    path = (*base, bound, j) if listed else (*base, bound)
                    kind = self.expr_kind(expr, doc, path)
                    if kind not in ("number", None):
                        self._error(doc, path, f"{bound} must be a number")
        if self.constants_doc is not None:
            for i, constant in enumerate(self.constants.values()):
                self._check_periods(
                    self.constants_doc,
                    ("constants", i, "values"),
                    constant.values,
                    f"constant '{constant.id}'",
                )

    def _cycle(self, name: str, trail: frozenset[str] = frozenset()) -> bool:
        if name in trail:
            return True
        value = self.values.get(name)
        if value is None:
            return False
        return any(
            isinstance(node, c.ValueRef) and self._cycle(node.value, trail | {name})
            for _, node in c.walk(value.formula)
        )

    def _check_periods(
        self, doc: YamlDocument, path: Path_, items: Sequence[Any], what: str
    ) -> None:
        ordered = sorted(enumerate(items), key=lambda pair: pair[1].valid_from)
        for (_, earlier), (j, later) in itertools.pairwise(ordered):
            if earlier.valid_to is None or earlier.valid_to >= later.valid_from:
                self._error(
                    doc,
                    (*path, j, "valid_from"),
                    f"{what}: periods overlap (one from {earlier.valid_from}, "
                    f"another from {later.valid_from}); end the earlier one with valid_to",
                )

    # -- programmes --------------------------------------------------------------------
    def check_programme(self, doc: YamlDocument, programme: Programme) -> None:
        for i, ref in enumerate(programme.where):
            if ref.place not in self.places:
                self._error(
                    doc,
                    ("where", i),
                    f"unknown place '{ref.place}' (places.yaml has: "
                    f"{', '.join(sorted(self.places))})",
                )
        self._check_periods(doc, ("versions",), programme.versions, f"programme '{programme.id}'")
        for field, limit in (("short_title", SHORT_TITLE_MAX), ("next_step", NEXT_STEP_MAX)):
            for language in ("uk", "en"):
                text = getattr(getattr(programme, field), language)
                if len(text) > limit:
                    self._error(
                        doc,
                        (field, language),
                        f"{field}: {len(text)} characters, at most {limit} fit a phone's line",
                    )
        for i, version in enumerate(programme.versions):
            base: Path_ = ("versions", i)
            for language in ("uk", "en"):
                size = _details_size(programme, version, language) + sum(
                    len(getattr(self.places[ref.place].short_title, language))
                    + len(self.places[ref.place].phone or "")
                    + 4
                    for ref in programme.where
                    if ref.place in self.places
                )
                if size > DETAILS_REQUIRED_MAX:
                    self._error(
                        doc,
                        (*base, "legal_act"),
                        f"details in '{language}' would not fit one phone message: {size} "
                        f"characters of short title, documents, how to apply, places, check, "
                        f"legal act and link (at most {DETAILS_REQUIRED_MAX}); shorten them",
                    )
            if not any(is_official(url) for url in version.sources):
                self._error(
                    doc,
                    (*base, "sources"),
                    "sources: none is an official site (*.gov.ua, e.g. zakon.rada.gov.ua, "
                    "pfu.gov.ua); a news article may only be a second source",
                )
            self.condition(version.eligibility, doc, (*base, "eligibility"))
            self.used |= c.answers_used(
                version.eligibility, {k: v.formula for k, v in self.values.items()}
            )
            amount = version.amount
            if amount.formula is not None:
                kind = self.expr_kind(amount.formula, doc, (*base, "amount", "formula"))
                if kind not in ("number", None):
                    self._error(doc, (*base, "amount", "formula"), "the amount must be a number")
            for language in ("uk", "en"):
                self._placeholders(
                    getattr(amount.text, language), doc, (*base, "amount", "text", language)
                )
            self._coverage(doc, base, version)

    def _placeholders(self, text: str, doc: YamlDocument, path: Path_) -> None:
        try:
            names = [name for _, name, _, _ in string.Formatter().parse(text) if name]
        except ValueError as exc:
            self._error(doc, path, f"braces {{ }} do not match: {exc}")
            return
        for name in names:
            if name not in self.constants:
                self._error(
                    doc, path, f"{{{name}}} is not a constant (write figures as {{constant_id}})"
                )

    def _coverage(self, doc: YamlDocument, base: Path_, version: Any) -> None:
        """Each constant a version uses must have a figure on every day the version is in force."""
        used = {
            node.const
            for root in (version.eligibility, version.amount.formula)
            if root is not None
            for _, node in c.walk(root)
            if isinstance(node, c.ConstRef)
        }
        for _, value in self.values.items():
            if any(
                isinstance(n, c.ValueRef) and n.value == value.id
                for root in (version.eligibility, version.amount.formula)
                if root is not None
                for _, n in c.walk(root)
            ):
                used |= {n.const for _, n in c.walk(value.formula) if isinstance(n, c.ConstRef)}
        for name in sorted(used):
            constant = self.constants.get(name)
            if constant is None:
                continue  # reported where it is used
            gap = _first_gap(constant, version.valid_from, version.valid_to)
            if gap is not None:
                self._error(
                    doc,
                    (*base, "valid_from"),
                    f"constant '{name}' has no figure for {gap.isoformat()}, "
                    "but this version is in force then (add a value in constants.yaml "
                    "or end the version with valid_to)",
                )

    def check_duplicate_programmes(self, programmes: list[tuple[YamlDocument, Programme]]) -> None:
        seen: dict[str, Path] = {}
        for doc, programme in programmes:
            if programme.id in seen:
                self._error(
                    doc,
                    ("id",),
                    f"programme id '{programme.id}' is also used in {seen[programme.id].name}",
                )
            seen.setdefault(programme.id, doc.file)

    def check_reachable(self) -> None:
        for qid, index in self.question_index.items():
            if qid not in self.used:
                self._error(
                    self.questions_doc,
                    ("questions", index, "id"),
                    f"question '{qid}' is never asked: no programme's eligibility uses it "
                    "(remove it or use it in a condition)",
                )

    # -- types -------------------------------------------------------------------------
    def condition(self, node: Any, doc: YamlDocument, path: Path_) -> None:
        if isinstance(node, c.All | c.Any_):
            items = node.all if isinstance(node, c.All) else node.any
            tag = "all" if isinstance(node, c.All) else "any"
            for i, item in enumerate(items):
                self.condition(item, doc, (*path, tag, i))
        elif isinstance(node, c.Not):
            self.condition(node.not_, doc, (*path, "not"))
        elif isinstance(node, c.Yes | c.No):
            tag = "yes" if isinstance(node, c.Yes) else "no"
            qid = getattr(node, tag)
            question = self._question(qid, doc, (*path, tag))
            if question is not None and question.type != "yes_no":
                self._error(
                    doc,
                    (*path, tag),
                    f"'{tag}:' needs a yes/no question; '{qid}' is a {question.type}",
                )
        elif isinstance(node, c.In):
            kind = self.expr_kind(node.in_[0], doc, (*path, "in", 0))
            for j, option in enumerate(node.in_[1]):
                self._literal_fits(kind, option, doc, (*path, "in", 1, j))
        else:
            op, (left, right) = c.comparison(node)
            lk = self.expr_kind(left, doc, (*path, op, 0))
            rk = self.expr_kind(right, doc, (*path, op, 1))
            if lk is None or rk is None:
                return
            if op in ("lt", "le", "gt", "ge") and not (
                (lk == rk == "number") or (lk == rk == "date")
            ):
                self._error(
                    doc,
                    (*path, op),
                    f"'{op}' compares numbers or dates, not {_name(lk)} and {_name(rk)}",
                )
            elif op in ("eq", "ne"):
                if isinstance(lk, tuple) and not isinstance(right, c._Node):
                    self._literal_fits(lk, right, doc, (*path, op, 1))
                elif isinstance(rk, tuple) and not isinstance(left, c._Node):
                    self._literal_fits(rk, left, doc, (*path, op, 0))
                elif _base(lk) != _base(rk):
                    self._error(doc, (*path, op), f"'{op}' compares {_name(lk)} with {_name(rk)}")

    def _literal_fits(self, kind: Kind, item: Any, doc: YamlDocument, path: Path_) -> None:
        if kind is None:
            return
        if isinstance(kind, tuple):
            question = self.questions[kind[1]]
            options = [o.id for o in question.options]
            if item not in options:
                self._error(
                    doc,
                    path,
                    f"'{item}' is not an option of question '{question.id}' "
                    f"(options: {', '.join(options)})",
                )
        elif _literal_kind(item) != kind:
            self._error(doc, path, f"expected {_name(kind)}, got {item!r}")

    def _question(self, qid: str, doc: YamlDocument, path: Path_) -> Question | None:
        question = self.questions.get(qid)
        if question is None:
            self._error(doc, path, f"unknown question '{qid}'{_suggest(qid, self.questions)}")
        return question

    def _value_kind(self, name: str) -> Kind:
        if name not in self._value_kinds:
            self._value_kinds[name] = None  # guards against cycles
            self._value_kinds[name] = self.expr_kind(
                self.values[name].formula,
                self.questions_doc,
                ("values", self.value_index[name], "formula"),
            )
        return self._value_kinds[name]

    def expr_kind(self, node: Any, doc: YamlDocument, path: Path_) -> Kind:
        """What kind of value an expression gives; reports unknown names and mismatches."""
        if not isinstance(node, c._Node):
            return _literal_kind(node)
        if isinstance(node, c.AnswerRef):
            question = self._question(node.answer, doc, (*path, "answer"))
            if question is None:
                return None
            if question.type == "choice":
                return ("choice", question.id)
            return {"yes_no": "bool", "number": "number", "date": "date"}[question.type]
        if isinstance(node, c.ConstRef):
            if node.const not in self.constants:
                self._error(
                    doc,
                    (*path, "const"),
                    f"unknown constant '{node.const}'{_suggest(node.const, self.constants)}",
                )
                return None
            return "number"
        if isinstance(node, c.ValueRef):
            if node.value not in self.values:
                self._error(
                    doc,
                    (*path, "value"),
                    f"unknown value '{node.value}'{_suggest(node.value, self.values)}",
                )
                return None
            return self._value_kind(node.value)
        if isinstance(node, c.If):
            self.condition(node.if_, doc, (*path, "if"))
            then = self.expr_kind(node.then, doc, (*path, "then"))
            other = self.expr_kind(node.else_, doc, (*path, "else"))
            if then is not None and other is not None and _base(then) != _base(other):
                self._error(doc, path, "'then' and 'else' give different kinds of value")
            return then or other
        if isinstance(node, c.MonthsSince | c.YearsSince):
            tag = "months_since" if isinstance(node, c.MonthsSince) else "years_since"
            kind = self.expr_kind(getattr(node, tag), doc, (*path, tag))
            if kind not in ("date", None):
                self._error(doc, (*path, tag), f"'{tag}' needs a date, not {_name(kind)}")
            return "number"
        ok = True
        for sub, child in c.children(node):
            kind = self.expr_kind(child, doc, (*path, *sub))
            if kind not in ("number", None):
                self._error(doc, (*path, *sub), f"arithmetic needs numbers, not {_name(kind)}")
                ok = False
        return "number" if ok else None


def _details_size(programme: Programme, version: Any, language: str) -> int:
    texts = [
        programme.short_title,
        *programme.documents,
        programme.how_to_apply,
        version.legal_act,
        *(t for t in (version.check, version.amount.depends) if t is not None),
    ]
    return sum(len(getattr(t, language)) + 2 for t in texts) + len(version.sources[0])


def _first_gap(constant: Constant, start: dt.date, end: dt.date | None) -> dt.date | None:
    """The first day from `start` to `end` (None: open-ended) without a figure."""
    day = start
    for item in sorted(constant.values, key=lambda v: v.valid_from):
        if item.valid_to is not None and item.valid_to < day:
            continue
        if item.valid_from > day:
            return day
        if item.valid_to is None:
            return None
        day = item.valid_to + dt.timedelta(days=1)
        if end is not None and day > end:
            return None
    return day


def _literal_kind(value: Any) -> Kind:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, dt.date):
        return "date"
    return "text"


def _base(kind: Kind) -> str | None:
    if isinstance(kind, tuple):
        return "text"
    return kind


def _name(kind: Kind) -> str:
    if isinstance(kind, tuple):
        return f"the choice '{kind[1]}'"
    return {"bool": "a yes/no", "number": "a number", "date": "a date", "text": "a text"}.get(
        kind or "", "something unknown"
    )


def _suggest(name: str, known: Iterable[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""
