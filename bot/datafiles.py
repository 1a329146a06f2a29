"""Editable service data (programmes, offices …) in YAML under DATA_DIR.

Each feature declares a loader for its part of the folder in its manifest entry
(`bot.app.FEATURES`), named after the `Resources` field it fills:

    Feature("eligibility", ..., loaders={"eligibility": load_eligibility})

    def load_eligibility(data_dir: Path) -> tuple[Eligibility | None, list[DataError]]: ...

`load_all` runs the loaders it is given; `python -m bot check-data` prints the errors and
`python -m bot run` refuses to start while there are any. Errors name the file
and line, because staff fix them in a text editor.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

# libyaml's safe loader where available: staff data is parsed at every start.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
#: how many values a file may hold once its aliases (`*name`) are expanded. The shipped
#: files hold a few thousand; a "billion laughs" file holds 10⁹ and would hang the start.
MAX_EXPANDED_NODES = 100_000


@dataclass(frozen=True, slots=True)
class DataError:
    file: Path
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else str(self.file)
        return f"{where}: {self.message}"


class DataProblems(Exception):
    def __init__(self, errors: list[DataError]) -> None:
        super().__init__(f"{len(errors)} problem(s) in the service data")
        self.errors = errors


Loader = Callable[[Path], tuple[Any, list[DataError]]]


def load_all(
    data_dir: Path, loaders: Mapping[str, Loader]
) -> tuple[dict[str, Any], list[DataError]]:
    """Every part of the data folder the loaders read, and every problem found in it."""
    resources: dict[str, Any] = {}
    errors: list[DataError] = []
    if not data_dir.is_dir():
        return resources, [DataError(data_dir, None, "folder not found")]
    if next(data_dir.rglob("*.yaml"), None) is None:
        # Each part may be absent on its own, but a folder with none is a wrong DATA_DIR.
        return resources, [
            DataError(data_dir, None, "no service data here (expected eligibility/, offices/)")
        ]
    for name, loader in loaders.items():
        value, problems = loader(data_dir)
        resources[name] = value
        errors.extend(problems)
    return resources, errors


# -- YAML with line numbers ----------------------------------------------------

Path_ = tuple[str | int, ...]


@dataclass
class YamlDocument:
    """Parsed YAML plus the line (1-based) where each mapping key or list item starts."""

    file: Path
    data: Any
    lines: dict[Path_, int]

    def line(self, *path: str | int) -> int | None:
        """The line of the deepest part of `path` that exists."""
        for end in range(len(path), -1, -1):
            found = self.lines.get(tuple(path[:end]))
            if found is not None:
                return found
        return None

    def error(self, message: str, *path: str | int) -> DataError:
        return DataError(self.file, self.line(*path), message)


def read_yaml(file: Path) -> tuple[YamlDocument | None, list[DataError]]:
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [DataError(file, None, f"cannot read: {exc}")]
    try:
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        return None, [DataError(file, line, f"not valid YAML: {problem}")]
    except RecursionError:
        return None, [DataError(file, None, "not valid YAML: nested too deeply")]
    if node is not None:
        problem = alias_problem(node)
        if problem is not None:
            line, message = problem
            return None, [DataError(file, line, message)]
    lines: dict[Path_, int] = {}
    try:
        if node is not None:
            _index(node, (), lines)
        data = yaml.load(text, Loader=_LOADER)
    except RecursionError:
        return None, [DataError(file, None, "not valid YAML: nested too deeply")]
    return YamlDocument(file, data, lines), []


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def alias_problem(root: yaml.Node) -> tuple[int, str] | None:
    """A line and a reason when aliases make the file recursive or explode in size.

    An alias is the very node its anchor names, so the composed file is a graph:
    each node's expanded size is counted once (memoised), without recursion, and a
    node met again while still inside itself is an anchor that contains itself.
    """
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    pending: list[tuple[yaml.Node, bool]] = [(root, False)]
    while pending:
        node, finished = pending.pop()
        key = id(node)
        if finished:
            open_nodes.discard(key)
            size = 1 + sum(sizes[id(child)] for child in _children(node))
            if size > MAX_EXPANDED_NODES:
                return (
                    node.start_mark.line + 1,
                    f"aliases (*name) expand this to more than {MAX_EXPANDED_NODES} values",
                )
            sizes[key] = size
            continue
        if key in sizes:
            continue
        open_nodes.add(key)
        pending.append((node, True))
        for child in _children(node):
            if id(child) in open_nodes:
                return (
                    child.start_mark.line + 1,
                    "an anchor (&name) that contains an alias to itself (*name)",
                )
            if id(child) not in sizes:
                pending.append((child, False))
    return None


def _index(node: yaml.Node, path: Path_, lines: dict[Path_, int]) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*path, key.value)
            lines[child] = key.start_mark.line + 1
            _index(value, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index(item, (*path, i), lines)
