"""Import boundaries: adapter → engine → dialogs → services → storage, never backwards.

Read from the source with `ast`, so a boundary is kept even in code no test runs:
imports inside functions and under `TYPE_CHECKING` count like any other (a
cycle through a type-only import is still a cycle of knowledge).
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

import bot.app
from bot.console.pages import Page
from bot.engine import Dialog
from bot.resources import RESOURCE_NAMES, Resources
from bot.services.booking import jobs as booking_jobs
from bot.services.personal_data import PersonalData
from bot.wiring import Command
from handlers.conversation import Conversation
from tests.conftest import Clock, make_settings, onboard

ROOT = Path(__file__).resolve().parent.parent
MESSENGER_SDKS = ("aiogram", "viberbot")
#: the packages whose import graph must have no cycle
PACKAGES = ("bot", "dialogs", "handlers", "storage")

# -- reading imports -----------------------------------------------------------------


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


def is_within(name: str, roots: Iterable[str]) -> bool:
    return any(name == root or name.startswith(f"{root}.") for root in roots)


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path = ROOT, packages: Iterable[str] = PACKAGES) -> dict[str, set[str]]:
    """module → the project modules it imports.

    `from package import name` is an import of the submodule `package.name` when
    there is one, else of `package`. Importing a submodule also imports its parent
    packages (Python runs their `__init__` first: `bot.engine.events` runs
    `bot/engine/__init__.py`, which imports the whole engine), except the packages
    the importing module itself lives in, which are already being imported.
    """
    known = {
        module_name(path, root): path
        for package in packages
        for path in (root / package).rglob("*.py")
    }
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        edges: set[str] = set()
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        own_package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = own_package.split(".")[: len(own_package.split(".")) - node.level + 1]
                    source = ".".join(part for part in (*base, node.module or "") if part)
                else:
                    source = node.module or ""
                for alias in node.names:
                    sub = f"{source}.{alias.name}"
                    targets.append(sub if sub in known else source)
            for target in targets:
                while target and target not in known:  # `import a.b.c` of a name in a.b
                    target = target.rpartition(".")[0]
                parent = target.rpartition(".")[0]
                while parent:
                    if parent in known and not name.startswith(f"{parent}."):
                        edges.add(parent)
                    parent = parent.rpartition(".")[0]
                if target and target != name:
                    edges.add(target)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            advanced = False
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph[successor]))))
                    advanced = True
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def violations(paths: Iterable[Path], forbidden: Iterable[str]) -> list[tuple[str, int, str]]:
    forbidden = tuple(forbidden)
    return [
        (relative(path), line, name)
        for path in paths
        for line, name in imported(path)
        if is_within(name, forbidden)
    ]


# -- the rules -----------------------------------------------------------------------


def test_no_import_cycles() -> None:
    found = cycles(import_graph())
    assert not found, "import cycles (strongly connected components):\n" + "\n".join(
        " ↔ ".join(component) for component in found
    )


MESSENGER_FREE = modules("dialogs", "bot/engine", "bot/services", "storage")


@pytest.mark.parametrize("path", MESSENGER_FREE, ids=relative)
def test_core_never_imports_a_messenger_sdk(path: Path) -> None:
    bad = [(line, name) for line, name in imported(path) if is_within(name, MESSENGER_SDKS)]
    assert not bad, f"{relative(path)} imports a messenger SDK: {bad}"


@pytest.mark.parametrize("path", modules("handlers"), ids=relative)
def test_adapters_reach_dialogs_only_through_the_engine(path: Path) -> None:
    bad = [(line, name) for line, name in imported(path) if is_within(name, ("dialogs",))]
    assert not bad, f"{relative(path)} imports dialogs directly: {bad}"


def test_adapters_never_import_storage() -> None:
    bad = violations(modules("handlers"), ["storage"])
    assert not bad, f"handlers import storage (go through the engine or a port): {bad}"


#: what services and dialogs must not know: the running bot and who runs them
RUNNERS = (
    "bot.app",
    "bot.main",
    "bot.wiring",
    "bot.delivery.worker",
    "bot.scheduler",
    "bot.lifecycle",
    "bot.server",
    "bot.cli",
    "bot.commands",
    "bot.console.web",
    "bot.console.pages",
    "handlers",
)


def test_services_and_dialogs_never_import_the_app_or_its_runners() -> None:
    bad = violations(modules("bot/services", "dialogs"), RUNNERS)
    assert not bad, f"take a session, `now` and ports instead: {bad}"


@pytest.mark.parametrize("path", modules("bot/engine"), ids=relative)
def test_the_engine_knows_no_dialog_and_no_adapter(path: Path) -> None:
    bad = [
        (line, name)
        for line, name in imported(path)
        if is_within(name, ("dialogs", "handlers", *RUNNERS))
    ]
    assert not bad, f"{relative(path)}: {bad}"


@pytest.mark.parametrize("path", modules("storage", "bot/services"), ids=relative)
def test_lower_layers_do_not_import_upper_ones(path: Path) -> None:
    upper: tuple[str, ...] = ("dialogs", "handlers", "bot.server", "bot.cli", "bot.commands")
    if relative(path).startswith("storage/"):
        upper = (*upper, "bot.services", "bot.engine")
    bad = [(line, name) for line, name in imported(path) if is_within(name, upper)]
    assert not bad, f"{relative(path)}: {bad}"


def test_ports_depend_on_nothing_of_the_project() -> None:
    bad = [
        (line, name) for line, name in imported(ROOT / "bot/ports.py") if is_within(name, PACKAGES)
    ]
    assert not bad, f"bot/ports.py must stay importable from every layer: {bad}"


def test_only_the_composition_root_knows_every_feature() -> None:
    """Nothing but bot/app.py (and `python -m bot`) imports the composition root,
    and the shapes it fills (bot/wiring.py) name no feature."""
    importers = [
        (relative(path), line)
        for path in modules(*PACKAGES)
        if path not in (ROOT / "bot/app.py", ROOT / "bot/__main__.py")
        for line, name in imported(path)
        if is_within(name, ("bot.app",))
    ]
    assert not importers, f"only the composition root builds the app: {importers}"
    wiring = [
        (line, name)
        for line, name in imported(ROOT / "bot/wiring.py")
        if is_within(name, ("dialogs", "handlers", "bot.commands", "bot.app"))
        or (is_within(name, ("bot.console",)) and not is_within(name, ("bot.console.pages",)))
    ]
    assert not wiring, f"bot/wiring.py: {wiring}"


def test_nothing_registers_itself_by_being_imported() -> None:
    """No `*_MODULES` lists walked with importlib: the manifest in bot/app.py says what runs."""
    dynamic = [
        (relative(path), node.lineno)
        for path in modules(*PACKAGES)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "import_module"
    ]
    assert not dynamic, f"import-side-effect registries: {dynamic}"


# -- the feature manifest ------------------------------------------------------------


def declared_domains() -> set[str]:
    with (ROOT / "locales/domains.toml").open("rb") as handle:
        return set(tomllib.load(handle)["domains"])


#: catalogs that belong to an adapter rather than a feature
ADAPTER_DOMAINS = {"telegram", "viber"}


def test_every_feature_domain_is_a_catalog_and_every_catalog_has_an_owner() -> None:
    domains = declared_domains()
    features = {feature.domain for feature in bot.app.FEATURES}
    assert features <= domains, f"add to locales/domains.toml: {sorted(features - domains)}"
    assert domains - features <= ADAPTER_DOMAINS, sorted(domains - features - ADAPTER_DOMAINS)


def test_feature_names_dialogs_and_commands_are_unique() -> None:
    names = [feature.name for feature in bot.app.FEATURES]
    dialogs = [dialog.name for feature in bot.app.FEATURES for dialog in feature.dialogs]
    commands = [found.name for feature in bot.app.FEATURES for found in feature.commands]
    for listed in (names, dialogs, commands):
        assert len(listed) == len(set(listed)), listed


def test_every_dialog_and_command_in_the_code_is_in_the_manifest() -> None:
    """A dialog, command or console page left out of FEATURES would silently never run."""
    import importlib

    listed_dialogs = {id(d) for feature in bot.app.FEATURES for d in feature.dialogs}
    listed_commands = {id(c) for feature in bot.app.FEATURES for c in feature.commands}
    listed_pages = {id(p) for feature in bot.app.FEATURES for p in feature.console_pages}
    missing: list[str] = []
    for path in modules("dialogs", "bot/commands", "bot/console"):
        module = importlib.import_module(module_name(path))
        for attribute, value in vars(module).items():
            if isinstance(value, Dialog) and id(value) not in listed_dialogs:
                missing.append(f"{module.__name__}.{attribute}")
            if isinstance(value, Command) and id(value) not in listed_commands:
                missing.append(f"{module.__name__}.{attribute}")
            if isinstance(value, Page) and id(value) not in listed_pages:
                missing.append(f"{module.__name__}.{attribute}")
    assert not missing, f"add to a feature in bot/app.py FEATURES: {missing}"


def test_every_feature_that_keeps_personal_data_declares_it() -> None:
    """ "My data" and erasure see exactly what the manifest declares."""
    resources = bot.app.load_resources(make_settings("sqlite+aiosqlite:///unused.sqlite3"))
    known = PersonalData.merge(feature.personal_data(resources) for feature in bot.app.FEATURES)
    assert [section.name for section in known.sections] == ["status", "booking", "cases"]
    assert known.region_names


async def test_a_feature_left_out_of_the_manifest_is_gone(sqlite_url: str, clock: Clock) -> None:
    """Leaving a feature out is one line: its dialogs, services and data are not there,
    and the menu item that would open it says it is coming."""
    without = tuple(feature for feature in bot.app.FEATURES if feature.name != "booking")
    app = await bot.app.build_app(
        make_settings(sqlite_url), migrate=False, clock=clock, features=without
    )
    try:
        assert "booking" not in app.engine.dialogs and "offices" not in app.engine.dialogs
        assert "eligibility" in app.engine.dialogs
        assert booking_jobs.booking_jobs not in app.services and app.services
        assert not Resources.of(app.runtime.resources).offices.offices
        assert [s.name for s in app.runtime.personal_data.sections] == ["status", "cases"]
        chat = Conversation(app.engine, user_id="1")
        await onboard(chat, "en")
        await chat.presses("Book an appointment")
        chat.expect("coming soon")
    finally:
        await app.close()


def test_every_data_loader_fills_a_resource() -> None:
    loaders = bot.app.data_loaders()
    assert set(loaders) <= RESOURCE_NAMES
    assert {"offices", "eligibility", "cases"} <= set(loaders)


# -- the checker itself ----------------------------------------------------------------


def test_the_checker_sees_imports() -> None:
    """Guard against a checker that passes because it reads nothing."""
    engine = ROOT / "bot/engine/engine.py"
    names = {name for _, name in imported(engine)}
    assert "storage.repositories" in names and "bot.engine.context" in names
    assert len(MESSENGER_FREE) > 20
    sample = ROOT / "bot/engine/__init__.py"
    assert "bot.engine.engine" in {name for _, name in imported(sample)}
    graph = import_graph()
    assert "bot.engine.context" in graph["bot.engine.engine"]
    assert len(graph) > 100


def test_the_checker_resolves_relative_imports(tmp_path: Path) -> None:
    module = tmp_path / "dialogs" / "probe.py"
    module.parent.mkdir()
    tree = "from ..handlers import telegram\nfrom . import menu\nimport aiogram.types\n"
    module.write_text(tree, encoding="utf-8")
    names = {name for _, name in imported(module, root=tmp_path)}
    assert {"handlers", "handlers.telegram", "dialogs.menu", "aiogram.types"} <= names


def test_the_checker_finds_cycles_through_type_only_and_function_level_imports(
    tmp_path: Path,
) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg.b import B\n")
    (package / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.c import C\n"
    )
    (package / "c.py").write_text("def f():\n    from pkg import a\n")
    (package / "d.py").write_text("from pkg import a\n")  # imports the cycle, not in it
    found = cycles(import_graph(tmp_path, ["pkg"]))
    assert found == [["pkg.a", "pkg.b", "pkg.c"]]


def test_the_checker_sees_a_cycle_through_a_package_init(tmp_path: Path) -> None:
    """`from eng.events import E` runs eng/__init__.py, which imports eng.core: if that
    reaches back to the importer, importing the importer first fails at runtime."""
    for folder in ("eng", "svc"):
        (tmp_path / folder).mkdir()
    (tmp_path / "eng/__init__.py").write_text("from eng.core import Core\n")
    (tmp_path / "eng/core.py").write_text("from svc.data import Data\n")
    (tmp_path / "eng/events.py").write_text("")
    (tmp_path / "svc/__init__.py").write_text("")
    (tmp_path / "svc/data.py").write_text("from eng.events import Event\n")
    found = cycles(import_graph(tmp_path, ["eng", "svc"]))
    assert found == [["eng", "eng.core", "svc.data"]]


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
