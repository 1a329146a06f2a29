"""Every step a dialog names exists: a typo in `ctx.goto("confrim")` fails here, not in production.

Step names are strings in the code (`ctx.goto("day")`, `ctx.start("cases", step="add")`,
`open_payload("booking", "mine")` under a reminder). This test reads the source of
dialogs/ and bot/ and checks each such target against the dialogs that are really
defined. A target it cannot work out (not a literal, a module constant, a class
attribute, a tuple element or a parameter passed a literal by its callers) fails too,
so new code stays checkable.
"""

from __future__ import annotations

import ast
import importlib
import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from types import UnionType

import pytest

from bot.engine import Dialog

ROOT = Path(__file__).resolve().parent.parent
DIALOG_FILES = sorted((ROOT / "dialogs").glob("*.py"))
SOURCE_FILES = [*DIALOG_FILES, *sorted((ROOT / "bot").rglob("*.py"))]

#: targets checked elsewhere, by (file, expression)
CHECKED_ELSEWHERE = {
    ("dialogs/menu.py", "item.dialog"): "test_menu_items_open_known_dialogs",
}


def _dialogs() -> dict[str, Dialog]:
    found: dict[str, Dialog] = {}
    for path in DIALOG_FILES:
        module = importlib.import_module(f"dialogs.{path.stem}")
        for value in vars(module).values():
            if isinstance(value, Dialog):
                found[value.name] = value
    return found


DIALOGS = _dialogs()


@dataclass
class Module:
    path: Path
    tree: ast.Module
    #: names of the dialogs defined in it
    dialogs: list[str]

    @property
    def rel(self) -> str:
        return self.path.relative_to(ROOT).as_posix()


def _parse(path: Path) -> Module:
    tree = ast.parse(path.read_text(), str(path))
    names = [
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "Dialog"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ]
    return Module(path, tree, names)


MODULES = [_parse(path) for path in SOURCE_FILES]


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _enclosing(
    node: ast.AST, parents: dict[ast.AST, ast.AST], kind: type | UnionType
) -> ast.AST | None:
    while node in parents:
        node = parents[node]
        if isinstance(node, kind):
            return node
    return None


class Unresolved(Exception):
    pass


@dataclass(frozen=True)
class Target:
    value: str  # a name, or a regular expression for an f-string
    pattern: bool
    #: the dialogs in whose context a bare step name is meant
    dialogs: tuple[str, ...]
    where: str


def _strings(node: ast.expr, module: Module) -> list[tuple[str, bool]]:
    """The strings `node` can be: (value, is_pattern)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [(node.value, False)]
    if isinstance(node, ast.JoinedStr):
        parts = [
            re.escape(v.value)
            if isinstance(v, ast.Constant) and isinstance(v.value, str)
            else ".+"
            for v in node.values
        ]
        return [("".join(parts), True)]
    if isinstance(node, ast.IfExp):
        return _strings(node.body, module) + _strings(node.orelse, module)
    if isinstance(node, ast.Tuple | ast.List):
        return [s for element in node.elts for s in _strings(element, module)]
    if isinstance(node, ast.Subscript):
        return _strings(node.value, module)
    if isinstance(node, ast.Name):
        for statement in module.tree.body:
            if isinstance(statement, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == node.id for t in statement.targets
            ):
                return _strings(statement.value, module)
    if (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "self"
    ):
        values = [
            s for value in _class_attributes(module, node.attr) for s in _strings(value, module)
        ]
        if values:
            return values
    raise Unresolved(ast.unparse(node))


def _class_attributes(module: Module, name: str) -> list[ast.expr]:
    values: list[ast.expr] = []
    for cls in ast.walk(module.tree):
        if not isinstance(cls, ast.ClassDef):
            continue
        for statement in cls.body:
            if not isinstance(statement, ast.Assign):
                continue
            for target in statement.targets:
                if isinstance(target, ast.Name) and target.id == name:
                    values.append(statement.value)
                elif isinstance(target, ast.Tuple) and isinstance(statement.value, ast.Tuple):
                    for t, v in zip(target.elts, statement.value.elts, strict=True):
                        if isinstance(t, ast.Name) and t.id == name:
                            values.append(v)
    return values


def _callers(function: str) -> list[tuple[Module, ast.Call]]:
    found = []
    for module in MODULES:
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Call) and (
                (isinstance(node.func, ast.Name) and node.func.id == function)
                or (isinstance(node.func, ast.Attribute) and node.func.attr == function)
            ):
                found.append((module, node))
    return found


def _context_dialogs(module: Module, node: ast.AST, parents: dict[ast.AST, ast.AST]) -> list[str]:
    """Which dialog a bare step name in `node` belongs to: the module's own, or its callers'."""
    if module.dialogs:
        return module.dialogs
    function = _enclosing(node, parents, ast.FunctionDef | ast.AsyncFunctionDef)
    assert isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef), module.rel
    return sorted({d for caller, _ in _callers(function.name) for d in caller.dialogs})


def _argument(call: ast.Call, position: int, keyword: str) -> ast.expr | None:
    if len(call.args) > position:
        return call.args[position]
    return next((k.value for k in call.keywords if k.arg == keyword), None)


def _targets(module: Module, node: ast.expr, dialogs: list[str]) -> list[Target]:
    """Resolve `node`; a parameter of the enclosing function is resolved at its callers."""
    where = f"{module.rel}:{node.lineno}"
    try:
        return [Target(v, p, tuple(dialogs), where) for v, p in _strings(node, module)]
    except Unresolved:
        pass
    parents = _parents(module.tree)
    if isinstance(node, ast.Name):  # `if payload in ("reply", "close"): ctx.goto(payload)`
        guard = _enclosing(node, parents, ast.If)
        test = guard.test if isinstance(guard, ast.If) else None
        if (
            isinstance(test, ast.Compare)
            and isinstance(test.left, ast.Name)
            and test.left.id == node.id
            and isinstance(test.ops[0], ast.In)
            and isinstance(test.comparators[0], ast.Tuple | ast.Set | ast.List)
        ):
            values = _strings(test.comparators[0], module)
            return [Target(v, p, tuple(dialogs), where) for v, p in values]
    function = _enclosing(node, parents, ast.FunctionDef | ast.AsyncFunctionDef)
    if isinstance(node, ast.Name) and isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
        params = [a.arg for a in function.args.args]
        if node.id in params:
            position = params.index(node.id)
            found: list[Target] = []
            for caller, call in _callers(function.name):
                passed = _argument(call, position, node.id)
                if passed is None:
                    continue
                caller_parents = _parents(caller.tree)
                found += _targets(caller, passed, _context_dialogs(caller, call, caller_parents))
            if found:
                return found
    raise Unresolved(f"{where}: {ast.unparse(node)}")


def _is_ctx_call(node: ast.AST, method: str) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == method
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "ctx"
    )


def _collect() -> tuple[list[Target], list[tuple[Target, Target | None]], list[str]]:
    """(goto targets, (dialog, step) pairs from start/open_payload, unresolved)."""
    steps: list[Target] = []
    starts: list[tuple[Target, Target | None]] = []
    unresolved: list[str] = []
    for module in MODULES:
        parents = _parents(module.tree)
        for node in ast.walk(module.tree):
            if not isinstance(node, ast.Call):
                continue
            try:
                if _is_ctx_call(node, "goto") and node.args:
                    dialogs = _context_dialogs(module, node, parents)
                    steps += _targets(module, node.args[0], dialogs)
                elif _is_ctx_call(node, "start") and node.args:
                    if (module.rel, ast.unparse(node.args[0])) in CHECKED_ELSEWHERE:
                        continue
                    step = _argument(node, 2, "step")
                    for dialog in _targets(module, node.args[0], []):
                        for target in _targets(module, step, [dialog.value]) if step else [None]:
                            starts.append((dialog, target))
                elif (
                    isinstance(node.func, ast.Name)
                    and node.func.id == "open_payload"
                    and len(node.args) == 2
                ):
                    for dialog in _targets(module, node.args[0], []):
                        for target in _targets(module, node.args[1], [dialog.value]):
                            starts.append((dialog, target))
            except Unresolved as e:
                unresolved.append(str(e))
    return steps, starts, unresolved


def _exists(target: Target, names: Collection[str]) -> bool:
    if target.pattern:
        return any(re.fullmatch(target.value, name) for name in names)
    return target.value in names


def test_the_source_is_read() -> None:
    """Guards the guard: the walk finds the transitions it is meant to check."""
    steps, starts, _ = _collect()
    assert len(steps) > 100
    assert any(s.value == "confirm" and "booking" in s.dialogs for s in steps)
    assert any(d.value == "cases" and s and s.value == "add" for d, s in starts)


def test_every_target_can_be_checked() -> None:
    _, _, unresolved = _collect()
    assert not unresolved, (
        "use a literal step name, a module constant or a class attribute for these: "
        + "; ".join(unresolved)
    )


def test_every_goto_target_is_a_step_of_its_dialog() -> None:
    steps, _, _ = _collect()
    missing = [
        f"{t.where}: {t.value!r} in {dialog}"
        for t in steps
        for dialog in t.dialogs
        if not _exists(t, DIALOGS[dialog].steps.keys())
    ]
    assert all(t.dialogs for t in steps)
    assert not missing


def test_every_started_dialog_and_step_exists() -> None:
    _, starts, _ = _collect()
    missing = []
    for dialog, step in starts:
        if dialog.value not in DIALOGS:
            missing.append(f"{dialog.where}: dialog {dialog.value!r}")
        elif step is not None and not _exists(step, DIALOGS[dialog.value].steps.keys()):
            missing.append(f"{step.where}: step {step.value!r} of {dialog.value}")
    assert not missing


def test_buttons_in_sent_messages_open_entry_steps() -> None:
    """`open_payload` under a reminder or notice opens only a dialog's `entry_steps`."""
    missing = []
    for module in MODULES:
        for node in ast.walk(module.tree):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "open_payload"
                and len(node.args) == 2
            ):
                continue
            for dialog in _targets(module, node.args[0], []):
                for step in _targets(module, node.args[1], [dialog.value]):
                    known = DIALOGS.get(dialog.value)
                    if known is None or not _exists(step, known.entry_steps):
                        missing.append(f"{step.where}: {dialog.value}:{step.value}")
    assert not missing


@pytest.mark.parametrize("name", sorted(DIALOGS))
def test_entry_steps_and_back_to_exist(name: str) -> None:
    dialog = DIALOGS[name]
    assert dialog.entry_steps <= dialog.steps.keys()
    known = (None, *dialog.steps)
    wrong = {step: s.back_to for step, s in dialog.steps.items() if s.back_to not in known}
    assert not wrong


def test_menu_items_open_known_dialogs() -> None:
    from dialogs.menu import ITEMS

    assert {item.dialog for item in ITEMS} <= DIALOGS.keys()
