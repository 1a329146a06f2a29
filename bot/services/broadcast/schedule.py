"""Scheduled announcements: an APScheduler job in the bot's database releases each one.

The job only flips the announcement from "scheduled" to "sending" with a
conditional UPDATE and queues its recipients, so it is harmless when two
processes both fire it. As a safety net (a job store lost, a job added by a
process whose scheduler another process does not watch, a misfire beyond
APScheduler's grace time) the announcements service also releases anything
overdue on start and every `SWEEP_SECONDS`.
"""

from __future__ import annotations

import logging
import re
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.delivery.quiet import KYIV
from bot.delivery.worker import wake
from bot.scheduler import build_scheduler, current_app
from bot.services.broadcast.announcements import due_scheduled, release

if TYPE_CHECKING:
    from bot.wiring import App

log = logging.getLogger(__name__)

SWEEP_SECONDS = 30.0
LATE_GRACE = timedelta(seconds=60)  # the job itself normally fires; the sweep is a backstop


def job_id(announcement_id: int) -> str:
    return f"announcement:{announcement_id}"


async def release_job(announcement_id: int) -> None:
    """APScheduler job: the time has come (module-level, plain args: it is stored)."""
    await release_now(current_app(), announcement_id)


async def release_now(app: App, announcement_id: int) -> bool:
    async with app.db.transaction() as session:
        released = await release(
            session,
            announcement_id,
            now=app.runtime.now(),
            default_locale=app.settings.default_locale,
        )
    if released:
        log.info("announcement %s released", announcement_id)
        wake()
    return released


def _add(scheduler: Any, announcement_id: int, at: datetime) -> None:
    scheduler.add_job(
        release_job,
        trigger="date",
        run_date=at,
        args=[announcement_id],
        id=job_id(announcement_id),
        replace_existing=True,
    )


async def schedule(app: App, announcement_id: int, at: datetime) -> None:
    """Store the job; from a process without a running scheduler (the CLI) too."""
    if app.scheduler is not None and app.scheduler.running:
        _add(app.scheduler, announcement_id, at)
        return
    scheduler = build_scheduler(app.settings.database_url)
    scheduler.start(paused=True)  # paused: write to the job store, run nothing here
    try:
        _add(scheduler, announcement_id, at)
    finally:
        scheduler.shutdown(wait=False)


async def sweep(app: App, *, grace: timedelta = LATE_GRACE) -> int:
    """Release what is overdue; make sure the rest has its job. Returns how many released."""
    async with app.db.transaction() as session:
        scheduled = await due_scheduled(session)
    now = app.runtime.now()
    released = 0
    for announcement_id, at in scheduled:
        if at <= now - grace:
            released += await release_now(app, announcement_id)
        elif (
            app.scheduler is not None
            and app.scheduler.running
            and app.scheduler.get_job(job_id(announcement_id)) is None
        ):
            _add(app.scheduler, announcement_id, at)
    if app.scheduler is not None and app.scheduler.running:
        app.scheduler.wakeup()  # notice jobs other processes wrote to the store
    return released


_DATE_TIME = re.compile(
    r"^\s*(?:(\d{1,2})\.(\d{1,2})(?:\.(\d{4}))?|(\d{4})-(\d{1,2})-(\d{1,2}))"
    r"(?:\s+|T)(\d{1,2})[:.](\d{2})\s*$"
)


#: an announcement further ahead is almost surely a typo in the year
MAX_AHEAD = timedelta(days=366)


def too_far_ahead(at: datetime, now: datetime) -> bool:
    return at > now + MAX_AHEAD


def parse_kyiv_time(text: str, now: datetime) -> datetime | None:
    """ "25.12.2026 14:30", "25.12 14:30" or "2026-12-25 14:30", Kyiv time; None if unclear.

    Without a year, the next such date from today.
    """
    match = _DATE_TIME.match(text)
    if not match:
        return None
    d, m, y, iy, im, iday, hh, mm = match.groups()
    today = now.astimezone(KYIV).date()
    try:
        if iy:
            day = date(int(iy), int(im), int(iday))
        else:
            day = date(int(y) if y else today.year, int(m), int(d))
            if not y and day < today:
                day = day.replace(year=today.year + 1)
        moment = datetime(day.year, day.month, day.day, int(hh), int(mm), tzinfo=KYIV)
    except ValueError:
        return None
    return moment
