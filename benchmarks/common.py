"""Shared pieces: a scratch database, percentiles, the results table."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bot.settings import Settings
from storage.db import Database
from storage.migrate import upgrade_async
from storage.models import Base

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass
class Result:
    name: str
    value: float
    unit: str
    goal: str = ""
    ok: bool | None = None
    details: dict[str, Any] = field(default_factory=dict)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


@contextmanager
def scratch_sqlite() -> Iterator[str]:
    folder = tempfile.mkdtemp(prefix="poruch-bench-")
    try:
        yield f"sqlite+aiosqlite:///{folder}/bench.sqlite3"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def postgres_url() -> str | None:
    return os.environ.get("POSTGRES_TEST_URL")


async def fresh_database(url: str) -> None:
    """Migrate, and empty every table (PostgreSQL is shared between benchmarks)."""
    await upgrade_async(url)
    if url.startswith("postgresql"):
        db = Database(url)
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        async with db.engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        await db.dispose()


def settings_for(url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"database_url": url, "default_locale": "uk", "staff_ids": ""}
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def onboarded_person(now: datetime) -> dict[str, Any]:
    """A Telegram person's row, minus `platform_user_id`: privacy accepted, announcements on."""
    return {
        "platform": "telegram",
        "locale": "uk",
        "region": None,
        "consent_at": now,
        "privacy_version": 1,
        "reachable": True,
        "subscribed": True,
        "announcements": True,
        "created_at": now,
        "last_seen_at": now,
    }


def print_table(results: list[Result]) -> None:
    width = max(len(r.name) for r in results)
    print()
    print(f"{'benchmark'.ljust(width)}  {'value':>12}  unit        goal            ok")
    print("-" * (width + 48))
    for r in results:
        mark = "" if r.ok is None else ("yes" if r.ok else "NO")
        print(f"{r.name.ljust(width)}  {r.value:>12.3f}  {r.unit:<10}  {r.goal:<14}  {mark}")


def write_json(results: list[Result]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "latest.json"
    path.write_text(
        json.dumps([r.__dict__ for r in results], indent=2, ensure_ascii=False), encoding="utf-8"
    )
    return path
