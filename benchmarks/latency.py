"""(2) Per-update latency inside the engine (event in → replies out), SQLite and PostgreSQL.

Measured twice: one person at a time (the engine's own cost per event) and 20
people at once (what a person waits for when others are talking too: on
SQLite, with one writer, that is mostly queueing).
"""

from __future__ import annotations

import asyncio
import random
import time

from benchmarks.common import (
    Result,
    fresh_database,
    percentile,
    postgres_url,
    scratch_sqlite,
    settings_for,
)
from benchmarks.walk import walk
from bot.app import build_app

PEOPLE = 200
STEPS = 12
CONCURRENCY = 20  # people talking at the same moment; more only measures queueing
ALONE_PEOPLE = 30


async def measure(
    url: str, label: str, people: int = PEOPLE, concurrency: int = CONCURRENCY
) -> list[Result]:
    await fresh_database(url)
    app = await build_app(settings_for(url), migrate=False)
    try:
        rng = random.Random(7)
        seeds = [rng.randrange(1 << 30) for _ in range(people)]
        started = time.perf_counter()
        runs: list[list[float]] = []
        for wave in range(0, people, concurrency):
            runs += await asyncio.gather(
                *(
                    walk(app.engine, f"p{i}", random.Random(seeds[i]), STEPS)
                    for i in range(wave, min(people, wave + concurrency))
                )
            )
        elapsed = time.perf_counter() - started
    finally:
        await app.close()
    latencies = [value * 1000 for run in runs for value in run]
    details = {"events": len(latencies), "people": people, "concurrency": concurrency}
    label = f"{label}, {concurrency} at once"
    results = [
        Result(f"engine latency p{q} ({label})", percentile(latencies, q), "ms", details=details)
        for q in (50, 95, 99)
    ]
    results.append(Result(f"engine events/s ({label})", len(latencies) / elapsed, "ev/s"))
    return results


async def run() -> list[Result]:
    results: list[Result] = []
    with scratch_sqlite() as url:
        results += await measure(url, "SQLite", ALONE_PEOPLE, 1)
    with scratch_sqlite() as url:
        results += await measure(url, "SQLite")
    pg = postgres_url()
    if pg:
        results += await measure(pg, "PostgreSQL", ALONE_PEOPLE, 1)
        results += await measure(pg, "PostgreSQL")
    return results
