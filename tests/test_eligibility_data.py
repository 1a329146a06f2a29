"""Staff tooling: broken eligibility data is reported as file:line: message, and refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import app as cli
from bot.app import load_resources
from bot.datafiles import DataError, DataProblems
from bot.services.eligibility.loader import load_eligibility
from tests.conftest import make_settings
from tests.eligibility_support import copy_demo


def line_of(file: Path, needle: str) -> int:
    """1-based line of the first line containing `needle`."""
    for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {file}")


def edit(file: Path, old: str, new: str) -> None:
    text = file.read_text(encoding="utf-8")
    assert old in text, old
    file.write_text(text.replace(old, new, 1), encoding="utf-8")


def errors_of(data_dir: Path) -> list[DataError]:
    data, errors = load_eligibility(data_dir)
    assert data is None if errors else data is not None
    return errors


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return copy_demo(tmp_path)


def programme(data_dir: Path, name: str) -> Path:
    return data_dir / "eligibility" / "programmes" / f"{name}.yaml"


def test_the_shipped_demo_data_is_valid() -> None:
    from bot.settings import DEMO_DATA_DIR

    data, errors = load_eligibility(DEMO_DATA_DIR)
    assert errors == []
    assert data is not None and len(data.programmes) >= 6


def test_missing_english_text(data_dir: Path) -> None:
    file = programme(data_dir, "housing_subsidy")
    edit(file, "  en: Housing and utility subsidy\n", "")
    [error] = errors_of(data_dir)
    assert error.file == file
    assert error.line == line_of(file, "title:")
    assert (
        str(error)
        == f"{file}:{error.line}: title: 'en' is missing (every text needs both uk and en)"
    )


def test_empty_ukrainian_text_in_a_reason(data_dir: Path) -> None:
    file = programme(data_dir, "housing_subsidy")
    needle = "uk: Субсидія допомагає сплачувати"
    line = line_of(file, needle)
    text = file.read_text(encoding="utf-8").splitlines()
    text[line - 1] = "            uk: ''"
    file.write_text("\n".join(text) + "\n", encoding="utf-8")
    [error] = errors_of(data_dir)
    assert error.line == line
    assert "'uk' is empty" in error.message


def test_unknown_question_in_a_condition(data_dir: Path) -> None:
    file = programme(data_dir, "idp_living_allowance")
    edit(file, "- yes: idp_certificate", "- yes: idp_certificat")
    [error] = errors_of(data_dir)
    assert (error.file, error.line) == (file, line_of(file, "yes: idp_certificat"))
    assert error.message == "unknown question 'idp_certificat' (did you mean 'idp_certificate'?)"


def test_unknown_option_and_wrong_kind(data_dir: Path) -> None:
    file = programme(data_dir, "disability_since_childhood")
    edit(file, "[group_1, group_2, group_3]", "[group_1, group_2, group_4]")
    edit(
        file,
        "- gt: [{answer: children_count}, 0]",
        "- gt: [{answer: children_count}, {answer: single_parent}]",
    )
    messages = {e.message for e in errors_of(data_dir)}
    assert (
        "'group_4' is not an option of question 'disability_group' "
        "(options: none, group_1, group_2, group_3)" in messages
    )
    assert "'gt' compares numbers or dates, not a number and a yes/no" in messages


def test_unreachable_question(data_dir: Path) -> None:
    file = data_dir / "eligibility" / "questions.yaml"
    edit(
        file,
        "\n# Values computed",
        """
  - id: favourite_colour
    type: yes_no
    label: {uk: колір, en: colour}
    if_yes: {uk: якби вам подобався синій, en: if you liked blue}
    if_no: {uk: якби вам не подобався синій, en: if you did not like blue}
    text: {uk: 'Вам подобається синій?', en: 'Do you like blue?'}

# Values computed""",
    )
    [error] = errors_of(data_dir)
    assert (error.file, error.line) == (file, line_of(file, "id: favourite_colour"))
    assert "question 'favourite_colour' is never asked" in error.message


def test_yaml_syntax_error(data_dir: Path) -> None:
    file = programme(data_dir, "single_parent_assistance")
    edit(file, "where: [diia, pfu, cnap]", "where: [diia, pfu, cnap")
    errors = errors_of(data_dir)
    assert len(errors) == 1
    assert errors[0].file == file and errors[0].line is not None
    assert errors[0].message.startswith("not valid YAML")


def test_unknown_field_place_and_overlapping_versions(data_dir: Path) -> None:
    file = programme(data_dir, "birth_assistance")
    edit(file, "    valid_to: 2025-12-31\n", "    valid_to: 2026-01-01\n")
    edit(file, "where: [maternity, diia, cnap, pfu]", "where: [maternity, diia, post]")
    edit(file, "how_to_apply:", "how_to_aply:")
    messages = [e.message for e in errors_of(data_dir)]
    assert "unknown field 'how_to_aply' (check the spelling)" in messages
    assert "'how_to_apply' is missing" in messages


def test_cross_checks_after_the_schema_is_right(data_dir: Path) -> None:
    file = programme(data_dir, "birth_assistance")
    edit(file, "    valid_to: 2025-12-31\n", "    valid_to: 2026-01-01\n")
    edit(file, "where: [maternity, diia, cnap, pfu]", "where: [maternity, diia, post]")
    errors = errors_of(data_dir)
    by_message = {e.message.split(" (")[0]: e for e in errors}
    assert by_message["unknown place 'post'"].line == line_of(file, "where:")
    overlap = next(e for e in errors if "periods overlap" in e.message)
    assert overlap.line == line_of(file, "valid_from: 2026-01-01")


def test_constant_missing_for_part_of_a_version(data_dir: Path) -> None:
    file = data_dir / "eligibility" / "constants.yaml"
    edit(
        file,
        "      - value: 3512\n        valid_from: 2026-01-01\n",
        "      - value: 3512\n        valid_from: 2026-02-01\n",
    )
    messages = [str(e) for e in errors_of(data_dir)]
    assert any(
        "single_parent_assistance.yaml" in m
        and "constant 'pm_child_6_18' has no figure for 2026-01-01" in m
        for m in messages
    ), messages


def test_unknown_placeholder_in_an_amount_text(data_dir: Path) -> None:
    file = programme(data_dir, "disability_since_childhood")
    edit(file, "Group I: {pm_unable_to_work} plus", "Group I: {pm_unable} plus")
    [error] = errors_of(data_dir)
    assert error.line == line_of(file, "Group I: {pm_unable} plus")
    assert error.message.startswith("{pm_unable} is not a constant")


def test_a_folder_without_eligibility_has_no_check(tmp_path: Path) -> None:
    assert load_eligibility(tmp_path) == (None, [])


# -- the operator's commands ---------------------------------------------------------------


def test_check_data_prints_file_and_line_and_fails(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    file = programme(data_dir, "idp_living_allowance")
    edit(file, "- yes: idp_certificate", "- yes: idp_certificat")
    monkeypatch.setenv("DATA_DIR", str(data_dir))
    assert cli.main(["check-data"]) == 2
    out, err = capsys.readouterr()
    assert f"{file}:{line_of(file, 'idp_certificat')}: unknown question 'idp_certificat'" in out
    assert "problem(s)" in err and "Traceback" not in err


def test_check_data_accepts_the_demo_folder(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.settings import DEMO_DATA_DIR

    monkeypatch.delenv("DATA_DIR", raising=False)
    assert cli.main(["check-data", str(DEMO_DATA_DIR)]) == 0
    assert capsys.readouterr().out.strip().endswith(": OK")


def test_the_bot_refuses_to_start_on_invalid_data(data_dir: Path) -> None:
    edit(programme(data_dir, "housing_subsidy"), "  en: Housing and utility subsidy\n", "")
    settings = make_settings("sqlite+aiosqlite:///unused.sqlite3", data_dir=data_dir)
    with pytest.raises(DataProblems) as caught:
        load_resources(settings)
    assert any("housing_subsidy.yaml" in str(e) for e in caught.value.errors)


def test_the_documented_example_programme_is_valid_and_works(data_dir: Path) -> None:
    import datetime as dt
    import re

    from bot.services.eligibility import rules
    from bot.services.eligibility.answers import decode

    doc = (Path(__file__).parent.parent / "docs" / "eligibility-data.md").read_text("utf-8")
    section = doc.split("## Adding a programme", 1)[1]
    example = re.search(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert example is not None
    (data_dir / "eligibility" / "programmes" / "winter_support.yaml").write_text(
        example.group(1), encoding="utf-8"
    )
    data, errors = load_eligibility(data_dir)
    assert errors == [] and data is not None
    pensioner = decode(
        data, {"age_band": "age_65_plus", "household_size": 1, "income_monthly": "4000"}
    )

    def outcome(day: dt.date) -> str | None:
        found = [d for d in rules.decide(data, pensioner, day) if d.id == "winter_support"]
        return found[0].outcome.value if found else None

    assert outcome(dt.date(2026, 11, 30)) is None  # not in force yet
    assert outcome(dt.date(2026, 12, 1)) == "eligible"
    assert outcome(dt.date(2027, 4, 1)) is None
