"""(4) Peak RSS of a bot process serving 100,000 people stored in the database.

The database is filled first (bulk Core INSERTs of people and their dialog
state); then a separate bot process builds the full application, starts its
background services (scheduler, outbox worker, announcements …) and handles
events from a sample of those people, and reports its own peak RSS.

The peak is the child's ``VmHWM`` from /proc, not ``ru_maxrss``: Linux keeps
``ru_maxrss`` across execve, so a child started by a parent holding 300 MB
reports 300 MB before it has run a line (that, and an ORM fill holding
200,000 objects in its identity map, was the 337 MB measured at first).
Goal: under 200 MB.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert, select

from benchmarks.common import Result, fresh_database, onboarded_person, scratch_sqlite
from storage.db import Database
from storage.models import DialogStateRow, Person

PEOPLE = 100_000
SAMPLE = 500  # people from the 100,000 who write during the measurement
STEPS = 4
CONCURRENCY = 50
CHUNK = 5_000
LIMIT_MB = 200
ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import asyncio, json, random, sys
from benchmarks.common import settings_for
from benchmarks.walk import walk
from bot.app import build_app
from bot.lifecycle import start_services

def peak_kb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

async def main(url, people, sample, steps, concurrency):
    app = await build_app(settings_for(url), migrate=False)
    services = await start_services(app)
    rng = random.Random(3)
    ids = rng.sample(range(people), sample)
    for chunk in range(0, len(ids), concurrency):
        await asyncio.gather(*(
            walk(app.engine, str(i), random.Random(i), steps, platform="telegram")
            for i in ids[chunk:chunk + concurrency]
        ))
    await asyncio.sleep(2)  # a round of every background loop over the full tables
    await services.stop()
    await app.close()
    print(json.dumps({"peak_kb": peak_kb()}))

asyncio.run(main(sys.argv[1], *map(int, sys.argv[2:])))
"""


async def fill(url: str, people: int = PEOPLE) -> None:
    """People who finished onboarding and sit in the main menu, as Core bulk INSERTs."""
    await fresh_database(url)
    db = Database(url)
    now = datetime.now(UTC)
    person = onboarded_person(now)
    state = {
        "dialog": "menu",
        "step": "main",
        "data": {},
        "history": [],
        "offered": {},
        "failures": 0,
        "version": 1,
        "updated_at": now,
    }
    try:
        async with db.engine.begin() as conn:
            for start in range(0, people, CHUNK):
                rows = [
                    {**person, "platform_user_id": str(i)}
                    for i in range(start, min(people, start + CHUNK))
                ]
                await conn.execute(insert(Person.__table__), rows)  # type: ignore[arg-type]
            ids = list(await conn.scalars(select(Person.__table__.c.id)))
            for start in range(0, len(ids), CHUNK):
                rows = [{**state, "person_id": pid} for pid in ids[start : start + CHUNK]]
                await conn.execute(insert(DialogStateRow.__table__), rows)  # type: ignore[arg-type]
    finally:
        await db.dispose()


async def run() -> list[Result]:
    with scratch_sqlite() as url:
        started = time.perf_counter()
        await fill(url)
        filled = time.perf_counter() - started
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        args = [url, PEOPLE, SAMPLE, STEPS, CONCURRENCY]
        output = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-c", CHILD, *map(str, args)],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            check=False,
        )
    if output.returncode != 0:
        raise RuntimeError(f"memory child failed:\n{output.stderr[-3000:]}")
    peak_mb = json.loads(output.stdout.strip().splitlines()[-1])["peak_kb"] / 1024
    return [
        Result(
            "peak RSS serving 100,000 people (SQLite)",
            peak_mb,
            "MB",
            f"< {LIMIT_MB}",
            peak_mb < LIMIT_MB,
            {
                "people": PEOPLE,
                "writing": SAMPLE,
                "events": SAMPLE * (STEPS + 3),
                "fill_seconds": round(filled, 1),
                "serve_seconds": round(time.perf_counter() - started - filled, 1),
            },
        )
    ]
