"""The dependency locks: every package pinned with its hashes, in step with pyproject.toml,
above the versions with published advisories, and the only install path of the image
and of `make test`."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
LOCKS = {"runtime": ROOT / "requirements.lock", "dev": ROOT / "requirements-dev.lock"}
#: the lowest versions without the advisories known to us (docs/deployment.md)
FLOORS = {
    "aiohttp": Version("3.14.3"),  # CVE-2024-52304, CVE-2025-53643 and later ones
    "requests": Version("2.32.4"),  # CVE-2024-47081 (pulled in by viberbot)
    "urllib3": Version("2.5.0"),  # CVE-2025-50181, CVE-2025-50182
}
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s\\;]+)")


def pins(lock: Path) -> dict[str, tuple[Version, int]]:
    """name → (pinned version, number of hashes)."""
    found: dict[str, tuple[Version, int]] = {}
    name = ""
    for line in lock.read_text(encoding="utf-8").splitlines():
        match = PIN.match(line)
        if match:
            name = canonicalize_name(match.group(1))
            found[name] = (Version(match.group(2)), 0)
        elif line.strip().startswith("--hash=sha256:") and name:
            version, hashes = found[name]
            found[name] = (version, hashes + 1)
        elif line and not line.startswith((" ", "#")):
            pytest.fail(f"{lock.name}: not a pinned requirement: {line!r}")
    return found


def required(extra: str | None) -> list[Requirement]:
    project = PYPROJECT["project"]
    names = list(project["dependencies"])
    if extra:
        names += project["optional-dependencies"][extra]
    names += PYPROJECT["build-system"]["requires"]
    return [Requirement(name) for name in names]


@pytest.mark.parametrize(("kind", "extra"), [("runtime", None), ("dev", "dev")])
def test_every_requirement_is_pinned_with_hashes_and_in_step(kind: str, extra: str | None) -> None:
    locked = pins(LOCKS[kind])
    assert locked, f"{LOCKS[kind].name} is empty"
    for name, (version, hashes) in locked.items():
        assert hashes >= 1, f"{name}=={version} has no hash"
    for requirement in required(extra):
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{requirement} is not in {LOCKS[kind].name}"
        version = locked[name][0]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{LOCKS[kind].name} pins {name}=={version}, pyproject.toml wants {requirement}: "
            "run `make lock`"
        )


@pytest.mark.parametrize("kind", ["runtime", "dev"])
def test_no_version_with_a_known_advisory(kind: str) -> None:
    locked = pins(LOCKS[kind])
    for name, floor in FLOORS.items():
        if name in locked:
            assert locked[name][0] >= floor, f"{name}=={locked[name][0]} is below {floor}"
    aiohttp = next(r for r in required(None) if r.name == "aiohttp")
    assert not aiohttp.specifier.contains("3.14.2"), (
        "pyproject.toml must not allow aiohttp < 3.14.3"
    )


def test_the_image_and_make_install_only_from_the_locks() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "pip install --require-hashes -r requirements.lock" in dockerfile
    assert "requirements.txt" not in dockerfile
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "pip install --quiet --require-hashes -r requirements-dev.lock" in makefile
    installs = [line for line in makefile.splitlines() if "pip install" in line]
    for line in installs:
        assert "--require-hashes" in line or "--no-deps" in line or "pip-tools==" in line, line
