"""Reads DATA_DIR/offices: services.yaml, oblasts.yaml, holidays.yaml and office lists.

Every other `*.yaml` in the folder is a list of offices (one file per oblast
keeps them easy to edit). Problems are reported with file and line.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from bot.datafiles import DataError, YamlDocument, read_yaml
from bot.services.booking.model import Holiday, Oblast, Office, OfficeCatalog, Service

FOLDER = "offices"
SPECIAL = ("services.yaml", "oblasts.yaml", "holidays.yaml")

M = TypeVar("M", bound=BaseModel)


def _describe(error: Any) -> str:
    where = ".".join(str(part) for part in error["loc"] if not str(part).startswith("function"))
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def _items(
    doc: YamlDocument, key: str, model: type[M], errors: list[DataError]
) -> list[tuple[int, M]]:
    """Validate each item of the top-level list `key`, keeping the good ones."""
    if not isinstance(doc.data, dict) or not isinstance(doc.data.get(key), list):
        errors.append(doc.error(f"expected a top-level list '{key}:'"))
        return []
    parsed: list[tuple[int, M]] = []
    for index, raw in enumerate(doc.data[key]):
        try:
            parsed.append((index, model.model_validate(raw)))
        except ValidationError as exc:
            for problem in exc.errors():
                loc = tuple(p for p in problem["loc"] if isinstance(p, (str, int)))
                errors.append(doc.error(_describe(problem), key, index, *loc))
    return parsed


def _read(
    path: Path, key: str, model: type[M], errors: list[DataError]
) -> list[tuple[YamlDocument, int, M]]:
    doc, problems = read_yaml(path)
    errors.extend(problems)
    if doc is None:
        return []
    return [(doc, index, item) for index, item in _items(doc, key, model, errors)]


def _listing(
    folder: Path, key: str, model: type[M], ident: Callable[[M], Any], errors: list[DataError]
) -> dict[Any, M]:
    """`<key>.yaml`'s list under `key`, by `ident`; a missing file is reported elsewhere."""
    path = folder / f"{key}.yaml"
    found = _read(path, key, model, errors) if path.is_file() else []
    return _unique(found, key, ident, errors)


def _unique(
    found: list[tuple[YamlDocument, int, M]],
    key: str,
    ident: Callable[[M], Any],
    errors: list[DataError],
) -> dict[Any, M]:
    result: dict[Any, M] = {}
    for doc, index, item in found:
        value = ident(item)
        if value in result:
            errors.append(doc.error(f"{value} is listed twice", key, index))
            continue
        result[value] = item
    return result


def load_catalog(data_dir: Path) -> tuple[OfficeCatalog, list[DataError]]:
    folder = data_dir / FOLDER
    errors: list[DataError] = []
    if not folder.is_dir():
        # A data folder without offices simply has no booking; nothing to complain about.
        return OfficeCatalog(), errors
    for name in SPECIAL:
        if not (folder / name).is_file():
            errors.append(DataError(folder / name, None, "file not found"))

    services = _listing(folder, "services", Service, lambda s: s.id, errors)
    oblasts = _listing(folder, "oblasts", Oblast, lambda o: o.code, errors)
    holidays = _listing(folder, "holidays", Holiday, lambda h: h.date, errors)

    found: list[tuple[YamlDocument, int, Office]] = []
    for path in sorted(folder.glob("*.yaml")):
        if path.name not in SPECIAL:
            found.extend(_read(path, "offices", Office, errors))
    offices = _unique(found, "offices", lambda o: o.id, errors)
    for doc, index, office in found:
        if oblasts and office.oblast not in oblasts:
            errors.append(
                doc.error(f"unknown oblast code {office.oblast}", "offices", index, "oblast")
            )
        for position, service_id in enumerate(office.services):
            if services and service_id not in services:
                errors.append(
                    doc.error(
                        f"unknown service {service_id!r} (see services.yaml)",
                        "offices",
                        index,
                        "services",
                        position,
                    )
                )
    if not offices and not errors:
        errors.append(DataError(folder, None, "no offices found"))
    catalog = OfficeCatalog(
        offices=dict(offices),
        services=dict(services),
        oblasts=dict(sorted(oblasts.items(), key=lambda item: item[1].name.uk)),
        holidays=dict(sorted(holidays.items())),
    )
    return catalog, errors


def load_offices(data_dir: Path) -> tuple[OfficeCatalog, list[DataError]]:
    return load_catalog(data_dir)
