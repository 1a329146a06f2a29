"""One place where an application's status changes: history row, then one notice per follower.

Both the CSV import and the registry connector come through `apply_record`,
so a change is recorded and announced the same way whatever its source.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery.outbox import enqueue
from bot.engine.events import Button, Reply
from bot.engine.globals import Global
from bot.i18n import Translator, translator
from bot.services.status.numbers import ApplicationNumber, masked
from bot.services.status.texts import DEMO_NOTICE, explain, is_demo, label
from storage.db import advisory_xact_lock
from storage.models import Person
from storage.models.status import Application, Follow, StatusChange

log = logging.getLogger(__name__)

NOTICE_KIND = "status"


@dataclass(frozen=True, slots=True)
class Record:
    """What a source says about one application."""

    number: ApplicationNumber
    birth_date: date
    status: str
    updated_at: datetime
    note: str = ""


class Effect(StrEnum):
    ADDED = "added"
    CHANGED = "changed"  # the status changed: history + notices
    UPDATED = "updated"  # same status, other details changed (note, dates)
    UNCHANGED = "unchanged"
    OLDER = "older"  # the source is behind what we already know: ignored


@dataclass(frozen=True, slots=True)
class Applied:
    effect: Effect
    application: Application
    notices: int = 0


async def lock_applications(session: AsyncSession) -> None:
    """Serialise status writers (imports, registry refreshes) across processes."""
    await advisory_xact_lock(session, "status", "applications")


async def find_by_key(session: AsyncSession, key: str) -> Application | None:
    result = await session.execute(select(Application).where(Application.number == key))
    return result.scalar_one_or_none()


async def apply_record(
    session: AsyncSession,
    record: Record,
    *,
    now: datetime,
    source: str,
    default_locale: str,
    existing: Application | None = None,
    looked_up: bool = False,
) -> Applied:
    """Upsert one application. `existing` may be passed when the caller already loaded it."""
    application = existing if looked_up else await find_by_key(session, record.number.key)
    if application is None:
        return Applied(Effect.ADDED, await _add(session, record, now=now, source=source))
    if record.updated_at < application.updated_at:
        return Applied(Effect.OLDER, application)
    if source == "registry":
        application.checked_at = now  # confirmed just now: the "as of" moves on
    if record.status != application.status:
        return await _change_status(
            session, application, record, now=now, source=source, default_locale=default_locale
        )
    return _update_details(application, record)


def _history_entry(application: Application, record: Record, now: datetime) -> StatusChange:
    return StatusChange(
        application_id=application.id,
        status=record.status,
        changed_at=record.updated_at,
        recorded_at=now,
    )


async def _add(
    session: AsyncSession, record: Record, *, now: datetime, source: str
) -> Application:
    application = Application(
        number=record.number.key,
        printed_number=record.number.printed,
        birth_date=record.birth_date,
        status=record.status,
        updated_at=record.updated_at,
        note=record.note,
        source=source,
        checked_at=now,
    )
    session.add(application)
    await session.flush()
    session.add(_history_entry(application, record, now))
    return application


async def _change_status(
    session: AsyncSession,
    application: Application,
    record: Record,
    *,
    now: datetime,
    source: str,
    default_locale: str,
) -> Applied:
    """A new status: recorded in the history, and the followers are told."""
    # Conditional on the old status, so two writers cannot both record one change.
    result = await session.execute(
        update(Application)
        .where(Application.id == application.id, Application.status == application.status)
        .values(
            status=record.status,
            updated_at=record.updated_at,
            note=record.note,
            birth_date=record.birth_date,
            printed_number=record.number.printed,
            source=source,
            checked_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    await session.refresh(application)
    if not result.rowcount:  # type: ignore[attr-defined]
        return Applied(Effect.UNCHANGED, application)
    change = _history_entry(application, record, now)
    session.add(change)
    await session.flush()
    notices = await notify_followers(
        session, application, change, now=now, default_locale=default_locale
    )
    return Applied(Effect.CHANGED, application, notices)


def _update_details(application: Application, record: Record) -> Applied:
    """The same status: a new note or date is kept quietly (nobody is told)."""
    details = (record.note, record.updated_at, record.birth_date, record.number.printed)
    stored = (
        application.note,
        application.updated_at,
        application.birth_date,
        application.printed_number,
    )
    if details == stored:
        return Applied(Effect.UNCHANGED, application)
    application.note = record.note
    application.updated_at = record.updated_at
    application.birth_date = record.birth_date
    application.printed_number = record.number.printed
    return Applied(Effect.UPDATED, application)


def render_notice(tr: Translator, application: Application, change: StatusChange) -> Reply:
    """The message a follower gets, in their language. Only the number's tail is shown:
    notifications appear on lock screens."""
    parts = [
        tr._(
            "Application {number}: {status}.",
            number=masked(application.printed_number),
            status=label(tr, change.status),
        ),
        explain(tr, change.status),
    ]
    if application.note:
        parts.append(tr._("Note: {note}", note=application.note))
    parts.append(tr._("Changed on {date}.", date=tr.date(change.changed_at)))
    if is_demo(application.printed_number):
        parts.insert(0, tr._(DEMO_NOTICE))
    return Reply(
        text="\n\n".join(part for part in parts if part),
        title=tr._("Your application status has changed"),
        buttons=((Button(tr._("☰ Menu"), Global.MENU.value),),),
    )


async def notify_followers(
    session: AsyncSession,
    application: Application,
    change: StatusChange,
    *,
    now: datetime,
    default_locale: str,
) -> int:
    """Queue one notice per follower; the dedupe key makes a second run queue nothing."""
    result = await session.execute(
        select(Person)
        .join(Follow, Follow.person_id == Person.id)
        .where(Follow.application_id == application.id)
        .order_by(Person.id)
    )
    queued = 0

    def render(tr: Translator) -> Reply:
        return render_notice(tr, application, change)

    for person in result.scalars():
        if await enqueue(
            session,
            person_id=person.id,
            kind=NOTICE_KIND,
            dedupe_key=f"status:{change.id}:{person.id}",
            replies=render(translator(person.locale or default_locale)),
            not_before=now,
            quiet_hours=True,
            translations=render,
        ):
            queued += 1
    if queued:
        log.info("status change %s: %d notice(s) queued", change.id, queued)
    return queued
