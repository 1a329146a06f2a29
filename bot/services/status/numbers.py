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


def parse_number(raw: str) -> ApplicationNumber | None:
    """The number in canonical form, or None when it cannot be an application number."""
    text = raw.strip().lstrip("№#").strip()
    text = _LETTERS.sub(_latin, unicodedata.normalize("NFKC", text).upper())
    text = _DASH_RE.sub("-", text)
    text = re.sub(r"\s*-\s*", "-", text)
    text = re.sub(r"\s+", "-", text)  # a space between groups stands for a dash
    text = re.sub(r"-{2,}", "-", text).strip("-")
    if not _SHAPE.fullmatch(text):
        return None
    key = text.replace("-", "")
    if not MIN_LENGTH <= len(key) <= MAX_LENGTH or not any(c.isdigit() for c in key):
        return None
    return ApplicationNumber(key=key, printed=text)


def masked(printed: str) -> str:
    """Enough to tell one's applications apart in a notification, not the whole number."""
    tail = printed.replace("-", "")[-4:]
    return f"…{tail}"


_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_DMY = re.compile(r"(\d{1,2})[./-](\d{1,2})[./-](\d{4})")
OLDEST_YEAR = 1900


def parse_birth_date(raw: str, today: date) -> date | None:
    """DD.MM.YYYY (also with / or -) or YYYY-MM-DD; None when unreadable or impossible."""
    text = _DASH_RE.sub("-", unicodedata.normalize("NFKC", raw)).strip().replace(" ", "")
    if match := _ISO.fullmatch(text):
        year, month, day = (int(part) for part in match.groups())
    elif match := _DMY.fullmatch(text):
        day, month, year = (int(part) for part in match.groups())
    else:
        return None
    try:
        value = date(year, month, day)
    except ValueError:
        return None
    if value.year < OLDEST_YEAR or value > today:
        return None
    return value


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
