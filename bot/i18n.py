"""Translations (Babel gettext catalogs in `locales/`) and locale-aware formatting.

msgids are English source strings. Placeholders are named (`{count}`), never
concatenated, so a translator can move them. Catalogs are split per feature
(gettext domains, see `locales/domains.toml`) and merged at load time.
"""

from __future__ import annotations

import datetime as dt
import gettext as _gettext
import logging
from datetime import date, datetime, tzinfo
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date as _format_date
from babel.dates import format_datetime as _format_datetime
from babel.dates import format_time as _format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

log = logging.getLogger(__name__)

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
LANGUAGES = ("uk", "en")
FORMAT_LOCALES = {"en": "en_GB"}
KYIV = ZoneInfo("Europe/Kyiv")
#: translations remembered per language at most
KNOWN_MESSAGES = 20_000


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated later, where it is shown."""
    return message


def _load_domain(po_path: Path) -> _gettext.GNUTranslations:
    mo_path = po_path.with_suffix(".mo")
    if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
        with mo_path.open("rb") as handle:
            return _gettext.GNUTranslations(handle)
    # Not compiled (or stale): compile in memory so a fresh checkout still speaks.
    import io

    with po_path.open("rb") as handle:
        catalog = read_po(handle)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return _gettext.GNUTranslations(buffer)


@cache
def catalog_for(language: str, locales_dir: Path = LOCALES_DIR) -> _gettext.NullTranslations:
    """Every domain of one language as one translations object: gettext fallbacks.

    A message is looked up in each domain in turn; where two domains translate the same
    msgid, the one later in name order wins.
    """
    paths = sorted((locales_dir / language / "LC_MESSAGES").glob("*.po"), reverse=True)
    merged: _gettext.NullTranslations = _gettext.NullTranslations()
    for n, po_path in enumerate(paths):
        domain = _load_domain(po_path)
        if n == 0:
            merged = domain
        else:
            merged.add_fallback(domain)
    return merged


class Translator:
    """Translate and format for one person's language."""

    def __init__(self, language: str, tz: tzinfo = KYIV) -> None:
        self.language = language if language in LANGUAGES else LANGUAGES[0]
        # English dates day first, the one way everywhere ("1 December 2026"): a US
        # "12/1/26" or "December 1" reads as January 12 to many people here.
        self.locale = Locale.parse(FORMAT_LOCALES.get(self.language, self.language))
        self.tz = tz
        self._catalog = catalog_for(self.language)
        # msgid → translation: gettext walks the domains' fallback chain on every
        # lookup (a miss in each domain before the one that has it), a dozen times a reply
        self._known: dict[str, str] = {}

    def _(self, message: str, **values: Any) -> str:
        text = self._known.get(message)
        if text is None:
            text = self._catalog.gettext(message)
            if len(self._known) < KNOWN_MESSAGES:  # msgids are the source's: bounded anyway
                self._known[message] = text
        return text.format(**values) if values else text

    def n_(self, singular: str, plural: str, n: int, **values: Any) -> str:
        text = self._catalog.ngettext(singular, plural, n)
        return text.format(n=n, **values)

    def days(self, n: int) -> str:
        """A count of days with the right plural: 1 день, 2 дні, 5 днів, 11 днів, 21 день."""
        return self.n_("{n} day", "{n} days", n)

    def number(self, value: int | float | Decimal) -> str:
        return format_decimal(value, locale=self.locale)

    def money(self, value: int | float | Decimal) -> str:
        """Hryvnias the way people write them: 2 000 грн / UAH 2,000."""
        amount = format_decimal(value, format="#,##0.##", locale=self.locale)
        return self._("{amount} UAH", amount=amount)

    def date(self, value: date | datetime, format: str = "long") -> str:
        """The long date, "1 December 2026" / "1 грудня 2026 р.", unless told otherwise."""
        if isinstance(value, datetime):
            value = value.astimezone(self.tz)
        return _format_date(value, format=format, locale=self.locale)

    def time(self, value: datetime) -> str:
        return _format_time(value.astimezone(self.tz), format="HH:mm", locale=self.locale)

    def datetime(self, value: datetime, format: str = "medium") -> str:
        """The long date and the time: "1 January 2090, 10:00" / "1 січня 2090 р., 10:00"."""
        local = value.astimezone(self.tz)
        if format == "medium":
            return f"{self.date(local)}, {self.time(local)}"
        return _format_datetime(local, format=format, locale=self.locale)

    def weekday(self, value: dt.date) -> str:
        return _format_date(value, format="EEEE", locale=self.locale)


@cache
def translator(language: str) -> Translator:
    return Translator(language)


def pick_language(language_code: str | None, default: str) -> str:
    """The messenger's language hint mapped to one we speak, else the default."""
    if language_code:
        code = language_code.split("-")[0].split("_")[0].lower()
        if code in LANGUAGES:
            return code
    return default
