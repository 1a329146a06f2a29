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

from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    from bot.app import App

JOBS_TABLE = "apscheduler_jobs"
_current: App | None = None


def sync_url(url: str) -> str:
    """The same database through a synchronous driver, for APScheduler's job store."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    driver = "psycopg" if backend == "postgresql" else "pysqlite"
    return parsed.set(drivername=f"{backend}+{driver}").render_as_string(hide_password=False)


def build_scheduler(database_url: str) -> AsyncIOScheduler:
    job_defaults: dict[str, Any] = {
        "coalesce": True,  # a backlog after downtime runs once, not once per missed tick
        "misfire_grace_time": 6 * 3600,  # a reminder late by minutes still helps
        "max_instances": 1,
    }
    return AsyncIOScheduler(
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
