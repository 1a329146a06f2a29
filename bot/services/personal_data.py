"""Everything stored about a person, gathered from every feature, and its erasure.

Each feature that stores personal data declares a `Section` in its manifest
entry (`bot.app.FEATURES`, `personal_data=`): a function that describes what it
holds about a person, in their language. The composition root merges them into
one `PersonalData` (`Runtime.personal_data`). "My data" shows all sections;
erasure deletes the person row and every feature table cascades.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
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


@dataclass(frozen=True)
class PersonalData:
    """What the features keep about a person, and who can name a region."""

    sections: tuple[Section, ...] = ()
    #: run before the erasure's cascade (they look up what the person had)
    forgetters: tuple[Forget, ...] = ()
    #: a feature that knows region names (booking's oblast list) offers them here
    region_names: tuple[RegionName, ...] = ()

    @classmethod
    def merge(cls, parts: Iterable[PersonalData]) -> PersonalData:
        found = list(parts)
        return cls(
            sections=tuple(s for part in found for s in part.sections),
            forgetters=tuple(f for part in found for f in part.forgetters),
            region_names=tuple(n for part in found for n in part.region_names),
        )


def region_name(tr: Translator, code: str, known: PersonalData) -> str:
    """The region's name in the person's language; never the bare code."""
    for namer in known.region_names:
        name = namer(tr, code)
        if name:
            return name
    return tr._("a region not in the current list")


def describe_profile(person: Person, tr: Translator, known: PersonalData) -> list[str]:
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
        lines.append(tr._("Region: {region}", region=region_name(tr, person.region, known)))
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


async def describe_everything(
    session: AsyncSession, person: Person, tr: Translator, known: PersonalData
) -> list[str]:
    lines = describe_profile(person, tr, known)
    for section in known.sections:
        lines.extend(await section.describe(session, person, tr))
    return lines


async def erase_person(session: AsyncSession, person: Person, known: PersonalData) -> None:
    """Delete the person and, by cascade, everything linked to them.

    The audit keeps no identity.
    """
    person_id = person.id
    for forget in known.forgetters:  # before the cascade: they look up what the person had
        await forget(session, person)
    await People(session).erase(person_id)
    await AuditLog(session).record(f"person:{person_id}", "person.erased")
