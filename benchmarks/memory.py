"""(4) Peak RSS of a bot process serving 100,000 people stored in the database.

The database is filled first (bulk insert of people and their dialog state);
then a separate bot process builds the full application, starts its services
and handles events from a sample of those people, and reports its own peak
RSS (ru_maxrss). Goal: under 200 MB.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC, datetime

from benchmarks.common import Result, fresh_database, scratch_sqlite
from storage.db import Database
from storage.models import DialogStateRow, Person

PEOPLE = 100_000
LIMIT_MB = 200

CHILD = r"""
import asyncio, json, random, resource, sys
from benchmarks.common import settings_for
from benchmarks.walk import walk
from bot.app import build_app
from bot.lifecycle import start_services

async def main(url, people):
    app = await build_app(settings_for(url), migrate=False)
    services = await start_services(app)
    rng = random.Random(3)
    ids = rng.sample(range(people), 2000)
    for chunk in range(0, len(ids), 200):
        await asyncio.gather(*(walk(app.engine, str(i), random.Random(i), 4, platform="telegram")
                               for i in ids[chunk:chunk + 200]))
    await services.stop()
    await app.close()
    print(json.dumps({"maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


async def fill(url: str) -> None:
    await fresh_database(url)
    db = Database(url)
    now = datetime.now(UTC)
    async with db.transaction() as session:
        for start in range(0, PEOPLE, 5000):
            session.add_all(
                Person(
                    platform="telegram",
                    platform_user_id=str(i),
                    locale="uk",
                    consent_at=now,
                    privacy_version=1,
                    created_at=now,
                    last_seen_at=now,
                )
                for i in range(start, start + 5000)
            )
            await session.flush()
        people = await session.execute(Person.__table__.select().with_only_columns(Person.id))
        session.add_all(
            DialogStateRow(
                person_id=pid,
                dialog="menu",
                step="main",
                data={},
                history=[],
                offered={},
                failures=0,
                version=1,
                updated_at=now,
            )
            for (pid,) in people
        )
    await db.dispose()


async def run() -> list[Result]:
    with scratch_sqlite() as url:
        await fill(url)
        env = dict(os.environ, PYTHONPATH=os.getcwd())
        output = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-c", CHILD, url, str(PEOPLE)],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
    peak_mb = json.loads(output.stdout.strip().splitlines()[-1])["maxrss_kb"] / 1024
    return [
        Result(
            "peak RSS serving 100,000 people",
            peak_mb,
            "MB",
            f"< {LIMIT_MB}",
            peak_mb < LIMIT_MB,
            {"people": PEOPLE},
        )
    ]
