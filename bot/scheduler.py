"""Timed jobs (reminders, scheduled announcements) in the bot's own database.

APScheduler 3 keeps jobs in a persistent SQLAlchemy job store, so they survive
restarts. Its job store is synchronous: it gets a sync URL for the same
database (sqlite / psycopg). A job is a module-level coroutine function taking
plain arguments; it reaches the running application through `current_app()`.

Several processes may run schedulers on one database and APScheduler 3 does
not coordinate them, so every job must be idempotent: claim its work in the
database (an outbox `dedupe_key`, a conditional UPDATE) before acting.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from apscheduler.events import EVENT_JOB_SUBMITTED, JobSubmissionEvent
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    from bot.metrics import Metrics
    from bot.wiring import App

JOBS_TABLE = "apscheduler_jobs"
_current: App | None = None


def sync_url(url: str) -> str:
    """Where APScheduler's synchronous job store keeps the jobs, for the bot's `url`.

    PostgreSQL: the same database through psycopg. SQLite: a sibling file
    (``bot.sqlite3`` → ``bot.jobs.sqlite3``). SQLite has one writer at a time and
    the job store runs on the event loop thread: sharing the file, a job-store
    write would wait for a lock held by one of our own async transactions, which
    cannot finish while the loop is blocked — a stall until the lock timeout.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    database = parsed.database or ""
    if database in ("", ":memory:"):
        return "sqlite://"
    path = Path(database)
    return f"sqlite:///{path.with_name(path.stem + '.jobs' + path.suffix)}"


class SharedStoreScheduler(AsyncIOScheduler):  # type: ignore[misc]
    """An AsyncIOScheduler that tolerates other processes on the same job store.

    When two processes fire the same one-off job, the second to finish removes a
    row the first already deleted: stock APScheduler 3 raises JobLookupError out
    of its wake-up routine, which then schedules no further wake-up, and that
    scheduler sleeps until something else wakes it. Here "already gone" is done.
    """

    def remove_job(self, job_id: str, jobstore: str | None = None) -> None:
        with contextlib.suppress(JobLookupError):
            super().remove_job(job_id, jobstore)


def watch_lag(scheduler: AsyncIOScheduler, metrics: Metrics) -> None:
    """`poruch_scheduler_lag_seconds`: how late the last job started against its plan."""

    def submitted(event: JobSubmissionEvent) -> None:
        if event.scheduled_run_times:
            planned = max(event.scheduled_run_times)
            metrics.scheduler_lag.set(max((datetime.now(UTC) - planned).total_seconds(), 0.0))

    scheduler.add_listener(submitted, EVENT_JOB_SUBMITTED)


def build_scheduler(database_url: str) -> AsyncIOScheduler:
    job_defaults: dict[str, Any] = {
        "coalesce": True,  # a backlog after downtime runs once, not once per missed tick
        "misfire_grace_time": 6 * 3600,  # a reminder late by minutes still helps
        "max_instances": 1,
    }
    return SharedStoreScheduler(
        jobstores={
            "default": SQLAlchemyJobStore(url=sync_url(database_url), tablename=JOBS_TABLE)
        },
        job_defaults=job_defaults,
        timezone=ZoneInfo("Europe/Kyiv"),
    )


def set_current_app(app: App | None) -> None:
    global _current
    _current = app


def current_app() -> App:
    if _current is None:
        raise RuntimeError("no application is running")
    return _current
