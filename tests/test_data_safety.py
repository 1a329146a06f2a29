"""Service data that would hang, crash or silently mislead the bot: refused by `check-data`.

Recursive YAML anchors and "billion laughs" files once crashed the start with a
RecursionError or hung it; an empty data folder passed as "OK"; a rule no one
can meet (`yes` and `no` on one question, `> 5` and `< 2` on one number) was
loaded and told everyone "no".
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import TypeAdapter

from bot.app import data_loaders
from bot.datafiles import load_all, read_yaml
from bot.services.eligibility.conditions import Condition
from bot.services.eligibility.contradictions import contradictions
from bot.settings import DEMO_DATA_DIR

ROOT = Path(__file__).resolve().parent.parent

RECURSIVE = "services: &s\n  - id: x\n    more: *s\n"
LAUGHS = 'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n' + "".join(
    f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]\n"
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True)
)


def test_unsafe_yaml_and_an_empty_folder_are_one_line_each(tmp_path: Path) -> None:
    """The real `check-data`, bounded in time: each file gets `file:line: reason`."""
    folders = {}
    for name, text in (("recursive", RECURSIVE), ("laughs", LAUGHS)):
        folder = tmp_path / name
        shutil.copytree(DEMO_DATA_DIR, folder)
        (folder / "offices" / "services.yaml").write_text(text, encoding="utf-8")
        folders[name] = folder
    folders["empty"] = tmp_path / "empty"
    folders["empty"].mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "VIBER_"))}
    runs = {
        name: subprocess.Popen(
            [sys.executable, "-m", "bot", "check-data", str(folder)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, folder in folders.items()
    }
    outputs = {}
    try:
        for name, run in runs.items():
            try:
                stdout, stderr = run.communicate(timeout=90)
            except subprocess.TimeoutExpired:
                pytest.fail(f"check-data on the {name} folder did not finish")
            assert run.returncode == 2, (name, stderr)
            assert "Traceback" not in stderr
            outputs[name] = stdout
    finally:
        for run in runs.values():
            if run.poll() is None:
                run.kill()
                run.communicate()
    services = Path("offices") / "services.yaml"
    assert (
        f"{folders['recursive'] / services}:1: an anchor (&name) that contains an alias"
        in (outputs["recursive"])
    )
    assert f"{folders['laughs'] / services}:" in outputs["laughs"]
    assert "aliases (*name) expand this to more than 100000 values" in outputs["laughs"]
    assert outputs["empty"].strip() == (
        f"{folders['empty']}: no service data here (expected eligibility/, offices/)"
    )


def test_a_modest_alias_still_loads(tmp_path: Path) -> None:
    """One rule shared by two versions (`&rule` … `*rule`) is fine, and so is the shipped data."""
    file = tmp_path / "shared.yaml"
    file.write_text("first: &rule {gt: [1, 0]}\nsecond: *rule\n", encoding="utf-8")
    doc, problems = read_yaml(file)
    assert problems == [] and doc is not None
    assert doc.data == {"first": {"gt": [1, 0]}, "second": {"gt": [1, 0]}}
    assert load_all(DEMO_DATA_DIR, data_loaders())[1] == []


# -- rules nobody can meet -------------------------------------------------------------

CONDITION: TypeAdapter[Any] = TypeAdapter(Condition)


def found(rule: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    return list(contradictions(CONDITION.validate_python(rule), ("eligibility",)))


@pytest.mark.parametrize(
    ("rule", "where", "reason"),
    [
        (
            {
                "all": [
                    {"yes": "single_parent"},
                    {"gt": [{"answer": "age"}, 18]},
                    {"no": "single_parent"},
                ]
            },
            ("eligibility", "all"),
            "both 'yes' and 'no' on 'single_parent'",
        ),
        (
            {
                "all": [
                    {"gt": [{"answer": "children_count"}, 5]},
                    {"lt": [{"answer": "children_count"}, 2]},
                ]
            },
            ("eligibility", "all"),
            "'answer children_count > 5' and 'answer children_count < 2' cannot both hold",
        ),
        (  # written the other way round: 2 > x
            {"all": [{"ge": [{"answer": "age"}, 60]}, {"gt": [40, {"answer": "age"}]}]},
            ("eligibility", "all"),
            "cannot both hold",
        ),
        (
            {"all": [{"ge": [{"answer": "age"}, 18]}, {"lt": [{"answer": "age"}, 18]}]},
            ("eligibility", "all"),
            "cannot both hold",
        ),
        (
            {
                "all": [
                    {"eq": [{"answer": "household_size"}, 3]},
                    {"eq": [{"answer": "household_size"}, 4]},
                ]
            },
            ("eligibility", "all"),
            "cannot both hold",
        ),
        (  # nested all, and `not: {yes: q}` is `no: q`
            {
                "any": [
                    {"yes": "idp_certificate"},
                    {
                        "all": [
                            {"yes": "single_parent"},
                            {"all": [{"not": {"yes": "single_parent"}}]},
                        ]
                    },
                ]
            },
            ("eligibility", "any", 1, "all"),
            "both 'yes' and 'no' on 'single_parent'",
        ),
        (
            {
                "all": [
                    {"ge": [{"answer": "youngest_child_birth_date"}, dt.date(2026, 1, 1)]},
                    {"lt": [{"answer": "youngest_child_birth_date"}, dt.date(2025, 6, 1)]},
                ]
            },
            ("eligibility", "all"),
            "cannot both hold",
        ),
    ],
)
def test_contradictions_are_found(
    rule: dict[str, Any], where: tuple[str | int, ...], reason: str
) -> None:
    problems = found(rule)
    assert len(problems) == 1, problems
    assert problems[0][0] == where
    assert reason in problems[0][1]


@pytest.mark.parametrize(
    "rule",
    [
        {"all": [{"gt": [{"answer": "age"}, 5]}, {"lt": [{"answer": "age"}, 12]}]},
        {"all": [{"ge": [{"answer": "age"}, 18]}, {"le": [{"answer": "age"}, 18]}]},
        {"any": [{"yes": "single_parent"}, {"no": "single_parent"}]},  # alternatives
        {"any": [{"gt": [{"answer": "age"}, 60]}, {"lt": [{"answer": "age"}, 18]}]},
        {"all": [{"gt": [{"answer": "age"}, 5]}, {"lt": [{"answer": "children_count"}, 2]}]},
        {
            "all": [
                {"eq": [{"answer": "household_size"}, 3]},
                {"ne": [{"answer": "household_size"}, 4]},
            ]
        },
    ],
)
def test_rules_that_can_hold_are_not_flagged(rule: dict[str, Any]) -> None:
    assert found(rule) == []


def test_check_data_flags_a_contradictory_programme_at_its_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(DEMO_DATA_DIR, data)
    file = data / "eligibility" / "programmes" / "single_parent_assistance.yaml"
    programme = yaml.safe_load(file.read_text(encoding="utf-8"))
    version = programme["versions"][-1]
    version["eligibility"] = {
        "all": [
            version["eligibility"],
            {"gt": [{"answer": "children_count"}, 5]},
            {"lt": [{"answer": "children_count"}, 2]},
        ]
    }
    file.write_text(yaml.safe_dump(programme, allow_unicode=True, sort_keys=False), "utf-8")
    _, errors = load_all(data, data_loaders())
    flagged = [error for error in errors if "nobody can qualify" in error.message]
    assert len(flagged) == 1, errors
    [error] = flagged
    assert error.file == file and error.line is not None
    lines = file.read_text(encoding="utf-8").splitlines()
    assert lines[error.line - 1].strip().startswith("all:")  # the line of that `all:`
    last = len(programme["versions"]) - 1
    assert error.message.startswith(f"versions[{last}].eligibility.all: ")
