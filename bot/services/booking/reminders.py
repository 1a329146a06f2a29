"""Reminders 24 and 2 hours before an appointment, through APScheduler and the outbox.

Each booked appointment gets one scheduler job per reminder, in the persistent
job store (the bot's database), so a restart keeps them. When a job fires it
looks at the appointment again: cancelled, moved (it has a new id) or re-timed
means no message. The outbox `dedupe_key` makes a second firing (two
processes, a retry) harmless. Cancelling or moving also removes the jobs, after
the change is committed.

At start the jobs are reconciled with the appointments (a crash between the
commit and the scheduling cannot lose a reminder), and a sweep job expires
holds and waiting-list offers nobody answered.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery.outbox import enqueue
from bot.engine.events import Button, Reply
from bot.engine.globals import Global, open_payload
from bot.engine.runtime import Runtime
from bot.i18n import Translator, translator
from bot.resources import Resources
from bot.scheduler import current_app
from bot.services.booking import texts
from bot.services.booking.appointments import sweep
from bot.services.booking.model import OfficeCatalog
from storage.models import Person
from storage.models.booking import BOOKED, Appointment

if TYPE_CHECKING:
    from bot.wiring import App

log = logging.getLogger(__name__)

REMINDER_HOURS = (24, 2)
#: how late a reminder may still go out after downtime
GRACE_SECONDS = {24: 6 * 3600, 2: 90 * 60}
SWEEP_JOB_ID = "booking:sweep"
SWEEP_EVERY_SECONDS = 60


def catalog_of(runtime: Runtime) -> OfficeCatalog:
    return Resources.of(runtime.resources).offices


def job_id(appointment_id: int, hours: int) -> str:
    return f"reminder:{appointment_id}:{hours}"


def due_times(
    starts_at: datetime, now: datetime, *, booked_at: datetime | None = None
) -> list[tuple[int, datetime]]:
    """The reminders still to send: (hours before, when to send).

    Those ahead, and — given when the appointment was booked — one whose moment
    came while nobody could send it (the bot was down, or still starting), if it
    is late by less than its grace: it goes now, as the job store would send a
    misfired job. A booking made after that moment gets no such reminder.
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


async def _call(function: Any, *args: Any, **kwargs: Any) -> Any:
    # The job store is synchronous; on SQLite it may wait for the write lock, which
    # must not stall the event loop that the lock holder needs to finish.
    return await asyncio.to_thread(functools.partial(function, *args, **kwargs))


async def schedule(scheduler: Any, appointment: Appointment, now: datetime) -> None:
    ahead = dict(due_times(appointment.starts_at, now, booked_at=appointment.created_at))
    for hours in REMINDER_HOURS:
        ident = job_id(appointment.id, hours)
        if hours not in ahead:
            await _remove(scheduler, ident)
            continue
        await _call(
            scheduler.add_job,
            send_reminder,
            trigger="date",
            run_date=ahead[hours],
            args=[appointment.id, hours, appointment.starts_at.isoformat()],
            id=ident,
            name=ident,
            replace_existing=True,
            misfire_grace_time=GRACE_SECONDS[hours],
        )


async def _remove(scheduler: Any, ident: str) -> None:
    if await _call(scheduler.get_job, ident) is not None:
        try:
            await _call(scheduler.remove_job, ident)
        except Exception as exc:  # JobLookupError: another process removed it first
            log.debug("reminder job %s already gone (%s)", ident, type(exc).__name__)


async def unschedule(scheduler: Any, appointment_id: int) -> None:
    for hours in REMINDER_HOURS:
        await _remove(scheduler, job_id(appointment_id, hours))


async def sync_reminders(app: App, appointment_ids: Iterable[int]) -> None:
    """Make the jobs match the appointments as committed: booked → scheduled, else removed."""
    scheduler = app.scheduler
    ids = list(appointment_ids)
    if scheduler is None or not ids:
        return  # no scheduler in this process: `reconcile` catches up at the next start
    now = app.runtime.now()
    async with app.db.transaction() as session:
        rows = (await session.scalars(select(Appointment).where(Appointment.id.in_(ids)))).all()
    found = {appointment.id: appointment for appointment in rows}
    for appointment_id in ids:
        appointment = found.get(appointment_id)
        if appointment is not None and appointment.state == BOOKED:
            await schedule(scheduler, appointment, now)
        else:
            await unschedule(scheduler, appointment_id)


async def forget_reminders(session: AsyncSession, person: Person) -> None:
    """On erasure: the person's reminder jobs go too (their arguments name appointments).

    Removed before the erasure commits; should it roll back, `reconcile` schedules
    the reminders again at the next start.
    """
    try:
        app = current_app()
    except RuntimeError:
        return  # no scheduler in this process: `reconcile` drops the jobs at the next start
    if app.scheduler is None:
        return
    ids = (
        await session.scalars(select(Appointment.id).where(Appointment.person_id == person.id))
    ).all()
    for appointment_id in ids:
        await unschedule(app.scheduler, appointment_id)


async def sync_after_commit(appointment_ids: Iterable[int]) -> None:
    """For `ctx.after_commit`: sync the reminders of these appointments, if a scheduler runs."""
    try:
        app = current_app()
    except RuntimeError:
        return
    await sync_reminders(app, appointment_ids)


async def reconcile(app: App) -> int:
    """Schedule every booked future appointment's reminders; drop jobs nobody needs."""
    scheduler = app.scheduler
    if scheduler is None:
        return 0
    now = app.runtime.now()
    async with app.db.transaction() as session:
        booked = (
            await session.scalars(
                select(Appointment).where(Appointment.state == BOOKED, Appointment.starts_at > now)
            )
        ).all()
    wanted = {
        job_id(a.id, hours): (a, run_at)
        for a in booked
        for hours, run_at in due_times(a.starts_at, now, booked_at=a.created_at)
    }
    existing = {job.id: job for job in await _call(scheduler.get_jobs)}
    for ident in existing:
        if ident.startswith("reminder:") and ident not in wanted:
            await _remove(scheduler, ident)
    scheduled = 0
    for ident, (appointment, _run_at) in wanted.items():
        job = existing.get(ident)
        if job is not None and job.args and job.args[2] == appointment.starts_at.isoformat():
            continue
        await schedule(scheduler, appointment, now)
        scheduled += 1
    return scheduled


# -- what the jobs do ---------------------------------------------------------------------


async def deliver_reminder(
    session: AsyncSession,
    catalog: OfficeCatalog,
    *,
    appointment_id: int,
    hours: int,
    starts_at_iso: str,
    now: datetime,
    default_locale: str = "uk",
) -> bool:
    """Queue the reminder if the appointment still stands as booked; True when queued now."""
    appointment = await session.get(Appointment, appointment_id, populate_existing=True)
    if (
        appointment is None
        or appointment.state != BOOKED
        or appointment.starts_at.isoformat() != starts_at_iso
        or now >= appointment.starts_at
    ):
        return False
    person = await session.get(Person, appointment.person_id)
    if person is None:
        return False

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

    return await enqueue(
        session,
        person_id=person.id,
        kind="reminder",
        dedupe_key=f"reminder:{appointment_id}:{hours}:{starts_at_iso}",
        replies=render(translator(person.locale or default_locale)),
        translations=render,
        not_before=now,
        # A day-ahead reminder can wait for the morning; a 2-hour one cannot.
        quiet_hours=hours >= 24,
    )


async def send_reminder(appointment_id: int, hours: int, starts_at_iso: str) -> None:
    """The scheduler job (module-level, plain arguments, idempotent)."""
    app = current_app()
    async with app.db.transaction() as session:
        await deliver_reminder(
            session,
            catalog_of(app.runtime),
            appointment_id=appointment_id,
            hours=hours,
            starts_at_iso=starts_at_iso,
            now=app.runtime.now(),
            default_locale=app.settings.default_locale,
        )


async def sweep_job() -> None:
    """The scheduler job that lets unanswered holds and offers go."""
    app = current_app()
    async with app.db.transaction() as session:
        await sweep(session, catalog_of(app.runtime), app.runtime.now())


async def booking_jobs(app: App) -> None:
    if app.scheduler is None:
        return None
    scheduled = await reconcile(app)
    await _call(
        app.scheduler.add_job,
        sweep_job,
        trigger="interval",
        seconds=SWEEP_EVERY_SECONDS,
        id=SWEEP_JOB_ID,
        name=SWEEP_JOB_ID,
        replace_existing=True,
    )
    log.info("booking: %d reminder job(s) scheduled at start", scheduled)
    return None
