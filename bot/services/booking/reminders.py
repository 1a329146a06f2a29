"""Reminders 24 and 2 hours before an appointment: outbox rows that wait for their moment.

Booking, moving or cancelling an appointment calls `plan` in the same
transaction, which makes the appointment's pending reminder rows match it: a
booked appointment gets a row per reminder still ahead, with `not_before` at
its moment, and a cancelled or moved one keeps none. So a reminder exists
exactly when the booking does, whatever crashes around the commit, and the
outbox worker sends it when it is due like any other message (once, from
whichever process claims it). Nothing is scheduled in a process's memory.

A row carries the reminder in every language, rendered at booking time, and
goes out in the language the person uses when it is sent (as notices do). Its
`not_after` keeps a reminder from arriving pointlessly late after downtime.

At start, `reconcile` recomputes the rows from the upcoming appointments: it
fills in reminders booked before this mechanism existed (the old APScheduler
jobs are gone) and is harmless otherwise (the dedupe key makes it idempotent).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery.outbox import enqueue
from bot.delivery.quiet import daytime_from
from bot.engine.events import Button, Reply
from bot.engine.globals import Global, open_payload
from bot.engine.runtime import Runtime
from bot.i18n import Translator, translator
from bot.resources import Resources
from bot.services.booking import texts
from bot.services.booking.model import OfficeCatalog
from storage.models import OutboxMessage, Person
from storage.models.booking import BOOKED, Appointment

log = logging.getLogger(__name__)

REMINDER_HOURS = (24, 2)
#: how late a reminder may still go out after downtime
GRACE_SECONDS = {24: 6 * 3600, 2: 90 * 60}
KIND = "reminder"


def catalog_of(runtime: Runtime) -> OfficeCatalog:
    return Resources.of(runtime.resources).offices


def dedupe_key(appointment_id: int, hours: int, starts_at: datetime) -> str:
    return f"{KIND}:{appointment_id}:{hours}:{starts_at.isoformat()}"


def _appointment_of(key: str) -> int | None:
    parts = key.split(":", 2)
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None


def due_times(
    starts_at: datetime, now: datetime, *, booked_at: datetime | None = None
) -> list[tuple[int, datetime]]:
    """The reminders still to send: (hours before, when to send).

    Those ahead, and — given when the appointment was booked — one whose moment
    came while nobody could send it (the bot was down, or still starting), if it
    is late by less than its grace: it goes now. A booking made after that
    moment gets no such reminder.
    """
    due = []
    for hours in REMINDER_HOURS:
        at = starts_at - timedelta(hours=hours)
        if at > now:
            due.append((hours, at))
        elif (
            booked_at is not None
            and booked_at <= at
            and now - at <= timedelta(seconds=GRACE_SECONDS[hours])
        ):
            due.append((hours, now))
    return due


async def plan(
    session: AsyncSession,
    catalog: OfficeCatalog,
    appointments: Iterable[Appointment],
    now: datetime,
    *,
    default_locale: str = "uk",
    first_booked: Collection[int] = (),
) -> int:
    """Make these appointments' pending reminder rows match them; returns rows queued.

    Call it in the transaction that books, moves or cancels: the rows commit (or
    roll back) with the change. Idempotent: a row already queued or already sent
    is not queued again. `first_booked`: appointments booked for the first time in
    this transaction, which can have no reminder queued yet (reminders are planned
    for booked appointments only): nothing of theirs is looked for to drop.
    """
    queued = 0
    for appointment in appointments:
        wanted: dict[str, tuple[int, datetime]] = {}
        if appointment.state == BOOKED and appointment.starts_at > now:
            for hours, at in due_times(
                appointment.starts_at, now, booked_at=appointment.created_at
            ):
                wanted[dedupe_key(appointment.id, hours, appointment.starts_at)] = (hours, at)
        if appointment.id not in first_booked:
            await _drop_pending(session, [appointment.id], keep=set(wanted))
        if not wanted:
            continue
        person = await session.get(Person, appointment.person_id)
        if person is None:
            continue
        for key, (hours, at) in wanted.items():
            queued += await _queue(
                session, catalog, appointment, person, key, hours, at, default_locale
            )
    return queued


async def _drop_pending(
    session: AsyncSession, appointment_ids: Iterable[int], *, keep: set[str]
) -> None:
    """Delete the not-yet-claimed reminder rows of these appointments, but `keep`."""
    ids = set(appointment_ids)
    if not ids:
        return
    Q = OutboxMessage
    rows = await session.execute(
        select(Q.id, Q.dedupe_key).where(
            Q.kind == KIND,
            Q.state == "pending",
            or_(*(Q.dedupe_key.startswith(f"{KIND}:{i}:", autoescape=True) for i in ids)),
        )
    )
    stale = [row_id for row_id, key in rows if _appointment_of(key) in ids and key not in keep]
    if stale:
        await session.execute(
            delete(Q).where(Q.id.in_(stale)).execution_options(synchronize_session=False)
        )


async def _queue(
    session: AsyncSession,
    catalog: OfficeCatalog,
    appointment: Appointment,
    person: Person,
    key: str,
    hours: int,
    at: datetime,
    default_locale: str,
) -> int:
    def render(tr: Translator) -> Reply:
        title, text = texts.reminder_text(tr, catalog, appointment, hours)
        return Reply(
            title=title,
            text=text,
            buttons=(
                (
                    Button(tr._("📋 My appointments"), open_payload("booking", "mine")),
                    Button(tr._("☰ Menu"), Global.MENU.value),
                ),
            ),
        )

    # A day-ahead reminder can wait for the morning; a 2-hour one cannot.
    quiet = hours >= 24
    due = daytime_from(at) if quiet else at
    queued = await enqueue(
        session,
        person_id=person.id,
        kind=KIND,
        dedupe_key=key,
        replies=render(translator(person.locale or default_locale)),
        translations=render,
        not_before=at,
        quiet_hours=quiet,
        # Pointless once the appointment began, or far later than planned (downtime).
        not_after=min(appointment.starts_at, due + timedelta(seconds=GRACE_SECONDS[hours])),
    )
    return int(queued)


async def reconcile(
    session: AsyncSession, catalog: OfficeCatalog, now: datetime, *, default_locale: str = "uk"
) -> int:
    """At start: every upcoming booked appointment gets its reminder rows; returns rows queued."""
    booked = (
        await session.scalars(
            select(Appointment).where(Appointment.state == BOOKED, Appointment.starts_at > now)
        )
    ).all()
    wanted = {
        a.id: {
            dedupe_key(a.id, hours, a.starts_at)
            for hours, _ in due_times(a.starts_at, now, booked_at=a.created_at)
        }
        for a in booked
    }
    Q = OutboxMessage
    # The reminder rows that can concern an upcoming appointment (sent ones too: those
    # are done), in one read: pending ones, and any planned within the last day.
    rows = (
        await session.execute(
            select(Q.id, Q.dedupe_key, Q.state).where(
                Q.kind == KIND,
                or_(
                    Q.state == "pending",
                    Q.not_before > now - timedelta(hours=max(REMINDER_HOURS) + 1),
                ),
            )
        )
    ).all()
    present = {key for _, key, _ in rows}
    missing = [a for a in booked if not wanted[a.id] <= present]
    queued = await plan(session, catalog, missing, now, default_locale=default_locale)
    # Pending rows of appointments no longer booked, or of a time since changed, go.
    stale = [
        row_id
        for row_id, key, state in rows
        if state == "pending" and key not in wanted.get(_appointment_of(key) or 0, set())
    ]
    for start in range(0, len(stale), 1000):
        await session.execute(
            delete(Q)
            .where(Q.id.in_(stale[start : start + 1000]), Q.state == "pending")
            .execution_options(synchronize_session=False)
        )
    return queued
