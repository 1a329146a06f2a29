"""Choice buttons: "<prefix>:<id>" payloads made and read in one place."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from bot.engine.choices import MAX_PAYLOAD_BYTES, Choices

ROOT = Path(__file__).resolve().parent.parent


def test_a_payload_reads_back_as_its_id() -> None:
    office = Choices("of")
    button = office.button(3, "3. Kyiv")
    assert (button.label, button.payload) == ("3. Kyiv", "of:3")
    assert office.parse("of:3") == "3"
    assert office.number("of:3") == 3
    assert office.index("of:3", 4) == 3
    assert "of:3" in office


@pytest.mark.parametrize(
    "payload", ["", "of", "of:", "off:1", "o:1", "x:of:1", "s:1", "menu", "g:back"]
)
def test_other_payloads_are_not_these_choices(payload: str) -> None:
    assert Choices("of").parse(payload) is None
    assert payload not in Choices("of")


@pytest.mark.parametrize("payload", ["of:-1", "of:1.5", "of:²", "of:٣", "of: 1", "of:1a"])
def test_numbers_are_plain_digits(payload: str) -> None:
    assert Choices("of").number(payload) is None


def test_an_index_must_be_within_the_list() -> None:
    assert Choices("b").index("b:2", 2) is None
    assert Choices("b").index("b:1", 2) == 1


def test_an_older_prefix_is_still_understood() -> None:
    """A button in a message sent before a prefix changed keeps working."""
    case = Choices("case", legacy=("c",))
    assert case.payload(7) == "case:7"
    assert case.number("c:7") == case.number("case:7") == 7


def test_payloads_stay_short_enough_for_telegram() -> None:
    assert MAX_PAYLOAD_BYTES <= 64
    Choices("t").payload("x" * (MAX_PAYLOAD_BYTES - 2))
    with pytest.raises(ValueError, match="too long"):
        Choices("t").payload("x" * (MAX_PAYLOAD_BYTES - 1))
    with pytest.raises(ValueError, match="too long"):
        Choices("t").payload("ї" * 20)  # bytes count, not letters


@pytest.mark.parametrize("prefix", ["", "a:b"])
def test_a_prefix_is_one_word(prefix: str) -> None:
    with pytest.raises(ValueError):
        Choices(prefix)


@pytest.mark.parametrize("path", sorted((ROOT / "dialogs").glob("*.py")), ids=lambda p: p.stem)
def test_choices_of_one_dialog_do_not_share_a_prefix(path: Path) -> None:
    module = importlib.import_module(f"dialogs.{path.stem}")
    prefixes = [v.prefix for v in vars(module).values() if isinstance(v, Choices)]
    assert len(prefixes) == len(set(prefixes))
