"""Periodic sweeps (retention, expiring holds), each process with its own APScheduler.

Timed work with a moment of its own is data in the database, not a job here:
a reminder is an outbox row with a future `not_before`, a scheduled
announcement is its row's `scheduled_at`. What is left for APScheduler are
sweeps whose duplicate run is harmless, so every process keeps its jobs in
memory: no job store is shared between processes (APScheduler 3 cannot
coordinate that), and no job-store call touches a database from the event loop.
A job is a coroutine function closed over what it needs (the database, a
clock …), never the running app looked up from a global.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from apscheduler.events import EVENT_JOB_SUBMITTED, JobSubmissionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler

if TYPE_CHECKING:
    from bot.metrics import Metrics

#: the table APScheduler's persistent job store used; migration 0010 drops it
OLD_JOBS_TABLE = "apscheduler_jobs"


def watch_lag(scheduler: AsyncIOScheduler, metrics: Metrics) -> None:
    """`poruch_scheduler_lag_seconds`: how late the last sweep started against its plan.

    The outbox worker feeds the same gauge for timed rows (reminders).
    """

    def submitted(event: JobSubmissionEvent) -> None:
        if event.scheduled_run_times:
            planned = max(event.scheduled_run_times)
            metrics.scheduler_lag.set(max((datetime.now(UTC) - planned).total_seconds(), 0.0))

    scheduler.add_listener(submitted, EVENT_JOB_SUBMITTED)


def build_scheduler() -> AsyncIOScheduler:
    """A scheduler with the in-memory job store: its jobs are re-added at every start."""
    job_defaults: dict[str, Any] = {
        "coalesce": True,  # a backlog after a stall runs once, not once per missed tick
        "misfire_grace_time": 3600,
        "max_instances": 1,
    }
    return AsyncIOScheduler(job_defaults=job_defaults, timezone=ZoneInfo("Europe/Kyiv"))
