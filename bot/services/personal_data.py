"""Everything stored about a person, gathered from every feature, and its erasure.

Each feature that stores personal data registers a `Section`: a function that
describes what it holds about a person, in their language. "My data" shows all
sections; erasure deletes the person row and every feature table cascades.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Translator
from storage.models import Person
from storage.repositories import AuditLog, People

Describe = Callable[[AsyncSession, Person, Translator], Awaitable[list[str]]]
#: the name of a region code (KATOTTG) in a language; codes are never shown to people
RegionName = Callable[[Translator, str], str | None]
#: what a feature keeps outside the person's rows (a scheduled job), removed on erasure
Forget = Callable[[AsyncSession, Person], Awaitable[None]]


@dataclass(frozen=True)
class Section:
    name: str
    describe: Describe


_SECTIONS: list[Section] = []
_FORGETTERS: list[Forget] = []


def register_section(section: Section) -> None:
    if all(existing.name != section.name for existing in _SECTIONS):
        _SECTIONS.append(section)


def register_forgetter(forget: Forget) -> None:
    if forget not in _FORGETTERS:
        _FORGETTERS.append(forget)


def sections() -> list[Section]:
    return list(_SECTIONS)


_REGION_NAMES: list[RegionName] = []


def register_region_names(namer: RegionName) -> None:
    """A feature that knows region names (booking's oblast list) offers them here."""
    if namer not in _REGION_NAMES:
        _REGION_NAMES.append(namer)


def region_name(tr: Translator, code: str) -> str:
    """The region's name in the person's language; never the bare code."""
    for namer in _REGION_NAMES:
        name = namer(tr, code)
        if name:
            return name
    return tr._("a region not in the current list")


def describe_profile(person: Person, tr: Translator) -> list[str]:
    yes, no = tr._("yes"), tr._("no")
    lines = [
        tr._("Messenger: {platform}", platform=person.platform.capitalize()),
        tr._("Your messenger user id: {user_id}", user_id=person.platform_user_id),
        tr._(
            "Language: {language}", language="українська" if person.locale == "uk" else "English"
        ),
        tr._("First contact: {date}", date=tr.date(person.created_at)),
        tr._("Last message: {date}", date=tr.date(person.last_seen_at)),
        tr._("Announcements: {state}", state=yes if person.announcements else no),
    ]
    if person.region:
        lines.append(tr._("Region: {region}", region=region_name(tr, person.region)))
    if person.api_version is not None:
        lines.append(
            tr._("Viber app level (what its buttons can do): {level}", level=person.api_version)
        )
    if person.consent_at:
        lines.append(
            tr._(
                "Privacy notice version {version} accepted on {date}",
                version=person.privacy_version,
                date=tr.date(person.consent_at),
            )
        )
    return lines


async def describe_everything(session: AsyncSession, person: Person, tr: Translator) -> list[str]:
    lines = describe_profile(person, tr)
    for section in _SECTIONS:
        lines.extend(await section.describe(session, person, tr))
    return lines


async def erase_person(session: AsyncSession, person: Person) -> None:
    """Delete the person and, by cascade, everything linked to them.

    The audit keeps no identity.
    """
    person_id = person.id
    for forget in _FORGETTERS:  # before the cascade: they look up what the person had
        await forget(session, person)
    await People(session).erase(person_id)
    await AuditLog(session).record(f"person:{person_id}", "person.erased")
