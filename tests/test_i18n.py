"""Catalogs complete and current, Ukrainian plurals right, Babel formatting per locale."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest
from babel.messages.pofile import read_po, write_po

from bot import i18n_tools
from bot.i18n import Translator, pick_language, translator

PLACEHOLDER = re.compile(r"\{(\w*)[^{}]*\}")


@cache
def current_problems() -> tuple[str, ...]:
    return tuple(i18n_tools.problems())


def domains() -> list[str]:
    return list(i18n_tools.domain_patterns())


@pytest.mark.parametrize("domain", domains())
def test_catalog_is_complete_and_up_to_date(domain: str) -> None:
    """Every msgid in the code is in both catalogs, translated, not fuzzy, nothing stale."""
    catalog = f"LC_MESSAGES/{domain}.po"
    mine = [line for line in current_problems() if catalog in line.replace("\\", "/")]
    assert not mine, "\n".join(mine) + "\n(make locales-update, then translate)"


def test_no_problem_is_left_unattributed() -> None:
    known = tuple(f"LC_MESSAGES/{domain}.po" for domain in domains())
    assert [line for line in current_problems() if not any(k in line for k in known)] == []


@pytest.mark.parametrize(
    "po",
    sorted(i18n_tools.LOCALES.glob("*/LC_MESSAGES/*.po")),
    ids=lambda path: "/".join(path.parts[-3::2]),
)
def test_translations_keep_the_placeholders(po: Path) -> None:
    """A translation may not invent a placeholder (it would crash) nor drop one."""
    with po.open("rb") as handle:
        catalog = read_po(handle)
    for message in catalog:
        if not message.id:
            continue
        ids = tuple(message.id) if isinstance(message.id, tuple | list) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set().union(*(set(PLACEHOLDER.findall(msgid)) for msgid in ids))
        for string in (s for s in strings if isinstance(s, str) and s):
            found = set(PLACEHOLDER.findall(string))
            assert found <= wanted, f"{po}: {ids[0]!r} has unknown {found - wanted}"
            if not message.pluralizable:
                assert found == wanted, f"{po}: {ids[0]!r} lost {wanted - found}"


# -- the check itself must be able to fail --------------------------------------------


@pytest.fixture
def scratch_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The same code with a copy of the catalogs that the test may spoil."""
    for directory in i18n_tools.SOURCE_DIRS:
        (tmp_path / directory).symlink_to(i18n_tools.ROOT / directory)
    shutil.copytree(i18n_tools.LOCALES, tmp_path / "locales")
    monkeypatch.setattr(i18n_tools, "ROOT", tmp_path)
    monkeypatch.setattr(i18n_tools, "LOCALES", tmp_path / "locales")
    return tmp_path


def test_check_reports_untranslated_fuzzy_missing_and_stale(scratch_project: Path) -> None:
    path = scratch_project / "locales/uk/LC_MESSAGES/core.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale="uk")
    catalog["Main menu"].string = ""
    catalog["Help"].flags.add("fuzzy")
    catalog.delete("Cancelled. Nothing was sent.")
    catalog.add("A sentence the code no longer says", "Речення, якого вже немає в коді")
    plural = catalog[("{n} day", "{n} days")]
    plural.string = ("{n} день", "{n} дні", "")
    with path.open("wb") as out:
        write_po(out, catalog)

    found = [line for line in i18n_tools.problems() if "uk/LC_MESSAGES/core.po" in line]

    def reported(kind: str, msgid: str) -> bool:
        return any(kind in line and repr(msgid) in line for line in found)

    assert reported("untranslated", "Main menu")
    assert reported("fuzzy", "Help")
    assert reported("not in catalog", "Cancelled. Nothing was sent.")
    assert reported("no longer in the code", "A sentence the code no longer says")
    assert reported("untranslated", "{n} day")
    assert i18n_tools.main(["check"]) == 1


def test_update_then_compile_round_trip(scratch_project: Path) -> None:
    path = scratch_project / "locales/uk/LC_MESSAGES/core.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale="uk")
    catalog.delete("Main menu")
    with path.open("wb") as handle:
        write_po(handle, catalog)
    i18n_tools.update()  # the msgid comes back, waiting for a translator
    with path.open("rb") as handle:
        catalog = read_po(handle, locale="uk")
    assert catalog["Main menu"] is not None and not catalog["Main menu"].string
    english = scratch_project / "locales/en/LC_MESSAGES/core.po"
    with english.open("rb") as handle:
        assert read_po(handle)["Main menu"].string == "Main menu"
    i18n_tools.compile_all()
    assert path.with_suffix(".mo").stat().st_size > 0


# -- plurals and formatting ------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "ukrainian", "english"),
    [
        (0, "0 днів", "0 days"),
        (1, "1 день", "1 day"),
        (2, "2 дні", "2 days"),
        (4, "4 дні", "4 days"),
        (5, "5 днів", "5 days"),
        (11, "11 днів", "11 days"),
        (12, "12 днів", "12 days"),
        (14, "14 днів", "14 days"),
        (21, "21 день", "21 days"),
        (22, "22 дні", "22 days"),
        (25, "25 днів", "25 days"),
        (101, "101 день", "101 days"),
        (111, "111 днів", "111 days"),
    ],
)
def test_plural_forms(n: int, ukrainian: str, english: str) -> None:
    assert translator("uk").days(n) == ukrainian
    assert translator("en").days(n) == english


def plain(text: str) -> str:
    """Babel uses no-break and narrow no-break spaces; compare them as spaces."""
    return text.replace("\xa0", " ").replace("\u202f", " ")


def test_dates_per_locale() -> None:
    uk, en = translator("uk"), translator("en")
    day = date(2026, 3, 5)
    assert plain(uk.date(day)) == "5 березня 2026 р."
    assert en.date(day) == "5 March 2026"
    assert uk.date(day, "short") == "05.03.26"
    assert uk.weekday(date(2026, 11, 24)) == "вівторок"
    assert en.weekday(date(2026, 11, 24)) == "Tuesday"


def test_times_are_shown_in_kyiv_time() -> None:
    uk, en = translator("uk"), translator("en")
    winter = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # UTC+2
    summer = datetime(2026, 7, 1, 21, 30, tzinfo=UTC)  # UTC+3, already the next day in Kyiv
    assert uk.time(winter) == "12:00"
    assert plain(uk.datetime(winter)) == "24 листопада 2026 р., 12:00"
    assert en.datetime(winter) == "24 November 2026, 12:00"
    assert uk.time(summer) == "00:30"
    assert plain(uk.date(summer)) == "2 липня 2026 р."


def test_numbers_and_money_per_locale() -> None:
    uk, en = translator("uk"), translator("en")
    assert plain(uk.number(1234567.5)) == "1 234 567,5"
    assert en.number(1234567.5) == "1,234,567.5"
    assert plain(uk.money(Decimal("2000"))) == "2 000 грн"
    assert plain(uk.money(Decimal("1234.5"))) == "1 234,5 грн"
    assert en.money(2000) == "2,000 UAH"


def test_translation_with_values_and_unknown_language() -> None:
    assert translator("uk")._("Main menu") == "Головне меню"
    assert translator("en")._("Main menu") == "Main menu"
    assert Translator("de").language == "uk"  # we only speak uk and en
    assert pick_language("en-GB", "uk") == "en"
    assert pick_language("uk_UA", "en") == "uk"
    assert pick_language("ru", "uk") == "uk"
    assert pick_language(None, "en") == "en"


def test_ukrainian_wording_fixes_from_issue_13() -> None:
    """The fixes a careful editor asked for, kept: each is how a person would say it."""
    uk = translator("uk")
    assert uk._("ℹ️ About & privacy") == "ℹ️ Про бота і конфіденційність"
    assert uk._("Continue where I was") == "Продовжити з того самого місця"
    assert uk._("Thank you.") == "Дякую."
    assert uk._("Diia") == "Дія"
    assert uk._("Yes, send it in Ukrainian to everyone") == "Так, надіслати українською всім"
    assert (
        uk.n_("You have {n} more try this hour.", "You have {n} more tries this hour.", 4)
        == "Протягом години у вас є ще 4 спроби."
    )
    notice = uk._(
        "What I store: your messenger id, chosen language, the answers and bookings you "
        "make here, and the applications you follow.\n"
        "Why: only to answer you and to remind you about your own affairs.\n"
        "How long: until you delete it, or 12 months after your last message.\n"
        "Delete it any time: Menu → My data → Delete my data.\n"
        "I never ask for passwords or card numbers."
    )
    assert "доки ви їх не видалите або 12 місяців" in notice


def test_every_domain_of_a_language_is_consulted(tmp_path: Path) -> None:
    """Domains are looked up in turn (gettext fallbacks): each one's messages and plurals."""
    from bot.i18n import catalog_for

    header = (
        'msgid ""\nmsgstr ""\n"Language: uk\\n"\n'
        '"Plural-Forms: nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && '
        'n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2);\\n"\n'
        '"Content-Type: text/plain; charset=utf-8\\n"\n\n'
    )
    folder = tmp_path / "uk" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "a.po").write_text(
        header + 'msgid "Hello"\nmsgstr "Привіт"\n\nmsgid "Shared"\nmsgstr "Спільне A"\n'
    )
    (folder / "b.po").write_text(
        header + 'msgid "Shared"\nmsgstr "Спільне B"\n\n'
        'msgid "{n} day"\nmsgid_plural "{n} days"\n'
        'msgstr[0] "{n} день"\nmsgstr[1] "{n} дні"\nmsgstr[2] "{n} днів"\n'
    )
    catalog = catalog_for("uk", tmp_path)
    assert catalog.gettext("Hello") == "Привіт"
    assert catalog.gettext("Shared") == "Спільне B"  # the later domain wins, as before
    assert [catalog.ngettext("{n} day", "{n} days", n) for n in (1, 3, 5)] == [
        "{n} день",
        "{n} дні",
        "{n} днів",
    ]
    assert catalog.gettext("Unknown") == "Unknown"
