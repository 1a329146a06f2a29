"""Application numbers and birth dates the way people type them.

A number printed as ``VPO-2026-000123`` arrives as ``vpo 2026 000123``,
``VPO–2026–000123`` (a phone keyboard's dash), ``ВПО``-looking Cyrillic
letters, or with a leading ``№``. All of them are the same application: matching
uses the letters and digits only (`ApplicationNumber.key`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

# Hyphen, non-breaking hyphen, figure dash, en dash, em dash, horizontal bar, minus,
# small and full-width hyphen-minus: phones and word processors substitute them freely.
DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
_DASH_RE = re.compile(f"[{DASHES}]")
# Numbers are printed in Latin letters. On a Ukrainian keyboard people type
# either the Ukrainian original of the abbreviation ("ВПО" for VPO) or, in a
# mixed group, Cyrillic letters that look like the Latin ones ("VРО").
_LOOKALIKES = str.maketrans("АВЕКМНОРСТХІ", "ABEKMHOPCTXI")
_TRANSLIT = {  # official Ukrainian romanisation (CMU resolution No. 55 of 2010)
    "А": "A", "Б": "B", "В": "V", "Г": "H", "Ґ": "G", "Д": "D", "Е": "E", "Є": "YE",
    "Ж": "ZH", "З": "Z", "И": "Y", "І": "I", "Ї": "YI", "Й": "Y", "К": "K", "Л": "L",
    "М": "M", "Н": "N", "О": "O", "П": "P", "Р": "R", "С": "S", "Т": "T", "У": "U",
    "Ф": "F", "Х": "KH", "Ц": "TS", "Ч": "CH", "Ш": "SH", "Щ": "SHCH", "Ю": "YU",
    "Я": "YA",
}  # fmt: skip
_LETTERS = re.compile(r"[^\W\d_]+")


def _latin(group: re.Match[str]) -> str:
    letters = group.group(0)
    if all(char in _TRANSLIT for char in letters):
        return "".join(_TRANSLIT[char] for char in letters)
    return letters.translate(_LOOKALIKES)


_SHAPE = re.compile(r"[A-Z0-9]+(?:-[A-Z0-9]+)*")
MIN_LENGTH = 6  # letters and digits, without dashes
MAX_LENGTH = 24
EXAMPLE = "VPO-2026-000123"


@dataclass(frozen=True, slots=True)
class ApplicationNumber:
    key: str  # "VPO2026000123": stored unique, used for matching
    printed: str  # "VPO-2026-000123": shown back to the person


class NumberProblem(StrEnum):
    """Why typed text cannot be an application number, to say so in plain words."""

    SHAPE = "shape"  # other characters than letters, digits, dashes and spaces
    NO_DIGITS = "no_digits"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"


def number_problem(raw: str) -> NumberProblem | None:
    """None when `parse_number` accepts `raw`; otherwise what is wrong with it."""
    text = _canonical(raw)
    if not _SHAPE.fullmatch(text):
        return NumberProblem.SHAPE
    key = text.replace("-", "")
    if len(key) < MIN_LENGTH:
        return NumberProblem.TOO_SHORT
    if len(key) > MAX_LENGTH:
        return NumberProblem.TOO_LONG
    if not any(c.isdigit() for c in key):
        return NumberProblem.NO_DIGITS
    return None


def parse_number(raw: str) -> ApplicationNumber | None:
    """The number in canonical form, or None when it cannot be an application number."""
    if number_problem(raw) is not None:
        return None
    text = _canonical(raw)
    return ApplicationNumber(key=text.replace("-", ""), printed=text)


def _canonical(raw: str) -> str:
    text = raw.strip().lstrip("№#").strip()
    text = _LETTERS.sub(_latin, unicodedata.normalize("NFKC", text).upper())
    text = _DASH_RE.sub("-", text)
    text = re.sub(r"\s*-\s*", "-", text)
    text = re.sub(r"\s+", "-", text)  # a space between groups stands for a dash
    return re.sub(r"-{2,}", "-", text).strip("-")


def masked(printed: str) -> str:
    """Enough to tell one's applications apart in a notification, not the whole number."""
    tail = printed.replace("-", "")[-4:]
    return f"…{tail}"


_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_DMY = re.compile(r"(\d{1,2})[./-](\d{1,2})[./-](\d{4})")
OLDEST_YEAR = 1900


class DateProblem(StrEnum):
    """Why a typed birth date was refused, to say exactly that."""

    UNREADABLE = "unreadable"  # not in a format we read
    NO_SUCH_DATE = "no_such_date"  # the right format, but 31.02.2020 never was
    FUTURE = "future"
    TOO_OLD = "too_old"  # before OLDEST_YEAR


def check_birth_date(raw: str, today: date) -> date | DateProblem:
    """DD.MM.YYYY (also with / or -) or YYYY-MM-DD; otherwise what is wrong with it."""
    text = _DASH_RE.sub("-", unicodedata.normalize("NFKC", raw)).strip().replace(" ", "")
    if match := _ISO.fullmatch(text):
        year, month, day = (int(part) for part in match.groups())
    elif match := _DMY.fullmatch(text):
        day, month, year = (int(part) for part in match.groups())
    else:
        return DateProblem.UNREADABLE
    try:
        value = date(year, month, day)
    except ValueError:
        return DateProblem.NO_SUCH_DATE
    if value > today:
        return DateProblem.FUTURE
    if value.year < OLDEST_YEAR:
        return DateProblem.TOO_OLD
    return value


def parse_birth_date(raw: str, today: date) -> date | None:
    """The date `check_birth_date` reads, or None when it is refused."""
    value = check_birth_date(raw, today)
    return None if isinstance(value, DateProblem) else value


def parse_timestamp(raw: str) -> datetime | None:
    """ISO-8601 with an offset (``2026-11-20T10:00:00+02:00``); naive times are refused."""
    text = raw.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo is not None else None
