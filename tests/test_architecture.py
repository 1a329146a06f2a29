"""Import boundaries: adapter → engine → dialogs → services → storage, never backwards.

Read from the source with `ast`, so a boundary is kept even in code no test runs.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MESSENGER_SDKS = ("aiogram", "viberbot")


def modules(*folders: str) -> list[Path]:
    return sorted(path for folder in folders for path in (ROOT / folder).rglob("*.py"))


def imported(path: Path, root: Path = ROOT) -> Iterator[tuple[int, str]]:
    """Every module name `path` imports, absolute, with its line (relative ones resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = path.relative_to(root).with_suffix("").parts[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                name = ".".join(part for part in (*base, node.module or "") if part)
            else:
                name = node.module or ""
            yield node.lineno, name
            for alias in node.names:  # `from bot import x` may import a module bot.x
                yield node.lineno, f"{name}.{alias.name}"
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.lineno, node.args[0].value


def is_within(name: str, roots: tuple[str, ...]) -> bool:
    return any(name == root or name.startswith(f"{root}.") for root in roots)


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


MESSENGER_FREE = modules("dialogs", "bot/engine", "bot/services", "storage")


@pytest.mark.parametrize("path", MESSENGER_FREE, ids=relative)
def test_core_never_imports_a_messenger_sdk(path: Path) -> None:
    bad = [(line, name) for line, name in imported(path) if is_within(name, MESSENGER_SDKS)]
    assert not bad, f"{relative(path)} imports a messenger SDK: {bad}"


@pytest.mark.parametrize("path", modules("handlers"), ids=relative)
def test_adapters_reach_dialogs_only_through_the_engine(path: Path) -> None:
    bad = [(line, name) for line, name in imported(path) if is_within(name, ("dialogs",))]
    assert not bad, f"{relative(path)} imports dialogs directly: {bad}"


@pytest.mark.parametrize("path", modules("bot/engine"), ids=relative)
def test_the_engine_knows_no_dialog_and_no_adapter(path: Path) -> None:
    bad = [
        (line, name)
        for line, name in imported(path)
        if is_within(name, ("dialogs", "handlers", "bot.app", "bot.server", "bot.cli"))
    ]
    assert not bad, f"{relative(path)}: {bad}"


@pytest.mark.parametrize("path", modules("storage", "bot/services"), ids=relative)
def test_lower_layers_do_not_import_upper_ones(path: Path) -> None:
    # Services may name `bot.app.App` (scheduled jobs reach the running app); not the rest.
    upper = ("dialogs", "handlers", "bot.server", "bot.cli", "bot.commands")
    if relative(path).startswith("storage/"):
        upper = (*upper, "bot.services", "bot.engine")
    bad = [(line, name) for line, name in imported(path) if is_within(name, upper)]
    assert not bad, f"{relative(path)}: {bad}"


def test_the_checker_sees_imports() -> None:
    """Guard against a checker that passes because it reads nothing."""
    engine = ROOT / "bot/engine/engine.py"
    names = {name for _, name in imported(engine)}
    assert "storage.repositories" in names and "bot.engine.context" in names
    assert len(MESSENGER_FREE) > 20
    sample = ROOT / "bot/engine/__init__.py"
    assert "bot.engine.engine" in {name for _, name in imported(sample)}


def test_the_checker_resolves_relative_imports(tmp_path: Path) -> None:
    module = tmp_path / "dialogs" / "probe.py"
    module.parent.mkdir()
    tree = "from ..handlers import telegram\nfrom . import menu\nimport aiogram.types\n"
    module.write_text(tree, encoding="utf-8")
    names = {name for _, name in imported(module, root=tmp_path)}
    assert {"handlers", "handlers.telegram", "dialogs.menu", "aiogram.types"} <= names


#: what marks a string for translation: `_("…")`, `tr._("…")`, `N_(…)`, gettext …
TRANSLATION_CALLS = ("_", "N_", "n_", "gettext", "ngettext", "pgettext")


def translatable_strings(path: Path) -> Iterator[int]:
    """Lines of `path` that mark text for translation (a call or an import of a marker)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name in TRANSLATION_CALLS:
                yield node.lineno
        elif isinstance(node, ast.ImportFrom) and any(
            alias.name in TRANSLATION_CALLS for alias in node.names
        ):
            yield node.lineno


@pytest.mark.parametrize("path", modules("handlers"), ids=relative)
def test_adapters_hold_no_storage_and_no_text(path: Path) -> None:
    """Adapters translate events and render replies: what a person reads comes from the
    engine and the dialogs (their catalogs), what is stored goes through the engine or a
    port (bot/ports.py) — never a session or a repository of their own."""
    storage = [
        (line, name) for line, name in imported(path) if is_within(name, ("storage", "sqlalchemy"))
    ]
    assert not storage, f"{relative(path)} reaches storage itself: {storage}"
    texts = list(translatable_strings(path))
    assert not texts, f"{relative(path)} holds user-facing text (lines {texts})"


def test_the_text_checker_sees_markers(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from bot.i18n import N_\nA = N_('x')\ndef f(tr):\n    return tr._('y'), _('z')\n",
        encoding="utf-8",
    )
    assert list(translatable_strings(probe)) == [1, 2, 4, 4]
