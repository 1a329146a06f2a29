"""Catalog maintenance: `python -m bot.i18n_tools update|compile|check`.

- update: extract messages from the code into each domain's catalog (see
  locales/domains.toml), add new msgids to every language, mark nothing fuzzy.
  English is the source language, so new English entries are filled with the
  msgid itself; Ukrainian entries stay empty until a translator fills them.
- compile: write the .mo files the bot loads.
- check: exit 1 when a catalog lacks a translation, has a fuzzy entry, or is
  out of date with the code (the tests call the same functions).
"""

from __future__ import annotations

import fnmatch
import io
import sys
import tomllib
from collections.abc import Iterable
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "locales"
LANGUAGES = ("uk", "en")
KEYWORDS = {"_": None, "N_": None, "n_": (1, 2)}
SOURCE_DIRS = ("bot", "dialogs", "handlers")
#: Jinja2 templates (the staff console) are extracted with Jinja2's own extractor
TEMPLATE_GLOB = "*.html"


def domain_patterns() -> dict[str, list[str]]:
    with (LOCALES / "domains.toml").open("rb") as handle:
        return dict(tomllib.load(handle)["domains"])


def domain_of(path: str, patterns: dict[str, list[str]]) -> str:
    for domain, globs in patterns.items():
        if any(fnmatch.fnmatch(path, glob) for glob in globs):
            return domain
    return "core"


def source_files() -> Iterable[Path]:
    for directory in SOURCE_DIRS:
        yield from sorted((ROOT / directory).rglob("*.py"))
        yield from sorted((ROOT / directory).rglob(TEMPLATE_GLOB))


def extract() -> dict[str, Catalog]:
    """msgids found in the code, per domain."""
    patterns = domain_patterns()
    catalogs = {domain: Catalog(project="poruch") for domain in patterns}
    for path in source_files():
        relative = path.relative_to(ROOT).as_posix()
        catalog = catalogs[domain_of(relative, patterns)]
        method = "jinja2.ext:babel_extract" if path.suffix == ".html" else "python"
        for lineno, message, comments, _context in extract_from_file(
            method, str(path), keywords=KEYWORDS, comment_tags=("TRANSLATORS:",)
        ):
            catalog.add(message, locations=[(relative, lineno)], auto_comments=comments)
    return catalogs


def po_path(language: str, domain: str) -> Path:
    return LOCALES / language / "LC_MESSAGES" / f"{domain}.po"


def read_catalog(path: Path, language: str) -> Catalog:
    if not path.exists():
        return Catalog(locale=language, project="poruch")
    with path.open("rb") as handle:
        return read_po(handle, locale=language)


def update() -> None:
    for domain, template in extract().items():
        for language in LANGUAGES:
            path = po_path(language, domain)
            catalog = read_catalog(path, language)
            catalog.update(template, no_fuzzy_matching=True)
            for message in catalog:
                if message.id and language == "en" and not _translated(message):
                    message.string = message.id
            catalog.obsolete.clear()
            catalog.fuzzy = False
            catalog.project = "Poruch"
            catalog.version = "1"
            catalog.msgid_bugs_address = ""
            catalog.copyright_holder = "Poruch contributors"
            catalog.language_team = "Poruch translators"
            catalog.last_translator = "Poruch translators"
            buffer = io.BytesIO()
            write_po(buffer, catalog, width=99, include_lineno=False, sort_output=False)
            if path.exists() and _without_stamp(path.read_bytes()) == _without_stamp(
                buffer.getvalue()
            ):
                continue  # only the creation date would change: keep the diff empty
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(buffer.getvalue())


def _without_stamp(po: bytes) -> bytes:
    return b"\n".join(
        line for line in po.split(b"\n") if not line.startswith(b'"POT-Creation-Date:')
    )


def compile_all() -> None:
    for path in sorted(LOCALES.glob("*/LC_MESSAGES/*.po")):
        language = path.parts[-3]
        catalog = read_catalog(path, language)
        with path.with_suffix(".mo").open("wb") as handle:
            write_mo(handle, catalog)


def _translated(message: Message) -> bool:
    if isinstance(message.string, (list, tuple)):
        return all(message.string)
    return bool(message.string)


def problems() -> list[str]:
    found: list[str] = []
    code = extract()
    for domain, template in code.items():
        wanted = {m.id if isinstance(m.id, str) else m.id[0] for m in template if m.id}
        for language in LANGUAGES:
            path = po_path(language, domain)
            if not path.exists():
                if wanted:
                    found.append(f"{path.relative_to(ROOT)}: missing (run make locales-update)")
                continue
            catalog = read_catalog(path, language)
            have = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}
            name = path.relative_to(ROOT)
            found += [
                f"{name}: not in catalog (run make locales-update): {m!r}"
                for m in sorted(wanted - have)
            ]
            found += [f"{name}: no longer in the code: {m!r}" for m in sorted(have - wanted)]
            for message in catalog:
                if not message.id:
                    continue
                msgid = message.id if isinstance(message.id, str) else message.id[0]
                if message.fuzzy:
                    found.append(f"{name}: fuzzy: {msgid!r}")
                elif not _translated(message):
                    found.append(f"{name}: untranslated: {msgid!r}")
    return found


def main(argv: list[str]) -> int:
    action = argv[0] if argv else "check"
    if action == "update":
        update()
    elif action == "compile":
        compile_all()
    elif action == "check":
        issues = problems()
        for line in issues:
            print(line, file=sys.stderr)
        return 1 if issues else 0
    else:
        print("usage: python -m bot.i18n_tools update|compile|check", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
