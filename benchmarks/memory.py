"""(4) Memory of the bot as people run it: Telegram and Viber, console mounted, 100,000 people.

The database (SQLite) is filled first: 100,000 onboarded people with dialog state
(bulk Core INSERTs) and the demo data. Then `python -m bot run` starts exactly as
deployed with both adapters — Telegram polling the Bot API double, Viber on its
webhook with the Viber REST double — the staff console mounted (it always is), every
background service running. Measured from /proc of that process:

- idle: VmRSS a few seconds after start-up (all imports done, memory settled);
- after serving: VmRSS when TELEGRAM_PEOPLE people on Telegram (the realistic mix,
  benchmarks/mix.py) and VIBER_PEOPLE on Viber (opening the chat, pressing the
  buttons they are shown, typing now and then) have walked the dialogs — once, or
  round after round for BENCH_MEMORY_SECONDS (600: the 10-minute run);
- peak: VmHWM, the most it ever held.

Goal: peak under 200 MB. The peak is the process's own VmHWM, not ru_maxrss: Linux
keeps ru_maxrss across execve, so a child of a big parent would report the parent's.
"""

from __future__ import annotations

import asyncio
import html
import os
import random
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert, select

from benchmarks.common import Result, fresh_database, onboarded_person
from benchmarks.double import BenchDouble
from benchmarks.mix import Walker, people
from benchmarks.processes import bot_env, free_port, start, stop
from storage.db import Database
from storage.models import DialogStateRow, Person
from tests.doubles.viber_api import ViberDouble, ViberPerson
from tests.viber_support import TOKEN as VIBER_TOKEN

PEOPLE = 100_000
TELEGRAM_PEOPLE = 50
VIBER_PEOPLE = 50
STEPS = 12
CHUNK = 5_000
LIMIT_MB = 200
SETTLE = 3.0  # seconds after start-up before the idle reading
READY_WAIT = 120.0
VIBER_WORDS = ("привіт", "меню", "дякую")


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
            for start_at in range(0, people, CHUNK):
                rows = [
                    {**person, "platform_user_id": str(i)}
                    for i in range(start_at, min(people, start_at + CHUNK))
                ]
                await conn.execute(insert(Person.__table__), rows)  # type: ignore[arg-type]
            ids: list[int] = list(await conn.scalars(select(Person.__table__.c.id)))
            for start_at in range(0, len(ids), CHUNK):
                rows = [{**state, "person_id": pid} for pid in ids[start_at : start_at + CHUNK]]
                await conn.execute(insert(DialogStateRow.__table__), rows)  # type: ignore[arg-type]
    finally:
        await db.dispose()


def proc_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


async def viber_walk(person: ViberPerson, rng: random.Random, steps: int) -> None:
    """Open the chat, then press what the keyboard offers (typing now and then)."""
    await person.opens()
    await person.says("Привіт")
    for _ in range(steps):
        keyboard = person.viber.keyboards.get(person.user_id) or {}
        replies = [
            b
            for b in keyboard.get("Buttons", [])
            if b.get("ActionType", "reply") == "reply" and b.get("ActionBody")
        ]
        if replies and rng.random() < 0.85:
            button = rng.choice(replies)
            text = html.unescape(str(button.get("Text", "")))
            if "видал" in text.casefold() or "delete" in text.casefold():
                continue  # erasing one's data ends the walk
            await person.says(str(button["ActionBody"]))
        else:
            await person.says(rng.choice(VIBER_WORDS))


async def run() -> list[Result]:
    from benchmarks.throughput import SECRET_KEY, prepare_seed

    with tempfile.TemporaryDirectory(prefix="poruch-bench-") as tmp:
        folder = Path(tmp)
        url = f"sqlite+aiosqlite:///{folder}/memory.sqlite3"
        started = time.perf_counter()
        await fill(url)
        await prepare_seed(url)
        filled = time.perf_counter() - started
        telegram = await BenchDouble(poll_cap=25.0).start()
        viber = ViberDouble(VIBER_TOKEN)
        await viber.start()
        port = free_port()
        env = bot_env(
            url,
            TELEGRAM_TOKEN=telegram.token,
            TELEGRAM_API_BASE=telegram.base_url,
            VIBER_TOKEN=VIBER_TOKEN,
            VIBER_API_BASE=viber.base_url,
            PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
            HTTP_PORT=str(port),
            SECRET_KEY=SECRET_KEY,
        )
        log = folder / "memory.log"
        process = await start(["-m", "bot", "run"], env, log)
        try:
            try:
                await telegram.wait_until(
                    lambda: bool(telegram.calls_of("getUpdates")), READY_WAIT
                )
                async with asyncio.timeout(READY_WAIT):
                    while not viber.webhook_url:  # noqa: ASYNC110
                        await asyncio.sleep(0.2)
            except TimeoutError:
                raise RuntimeError(f"the bot did not start:\n{log.read_text()[-3000:]}") from None
            await asyncio.sleep(SETTLE)
            idle_kb = proc_kb(process.pid, "VmRSS")
            serving = time.perf_counter()
            viberers = [
                viber.person(f"vb{i:04d}+bench=", language=random.Random(i).choice(["uk", "en"]))
                for i in range(VIBER_PEOPLE)
            ]
            walkers: list[Walker] = []
            rounds = 0
            # The same people come back round after round until the time is up (one round
            # by default; BENCH_MEMORY_SECONDS=600 is the 10-minute run).
            until = time.monotonic() + float(os.environ.get("BENCH_MEMORY_SECONDS", "0"))
            while rounds == 0 or time.monotonic() < until:
                round_walkers = people(
                    telegram, TELEGRAM_PEOPLE, seed=5 + rounds, first_id=200_000
                )
                await asyncio.gather(
                    *(w.walk(STEPS) for w in round_walkers),
                    *(
                        viber_walk(p, random.Random(i + rounds), STEPS)
                        for i, p in enumerate(viberers)
                    ),
                )
                walkers += round_walkers
                rounds += 1
            await asyncio.sleep(SETTLE)  # a round of the background loops over full tables
            after_kb = proc_kb(process.pid, "VmRSS")
            peak_kb = proc_kb(process.pid, "VmHWM")
            served = time.perf_counter() - serving
            traffic = {
                "telegram_updates": sum(w.sent for w in walkers),
                "telegram_stalls": sum(w.stalls for w in walkers),
                "telegram_messages": len(telegram.sent),
                "viber_messages": len(viber.sent),
            }
        finally:
            await stop(process)
            await telegram.stop()
            await viber.stop()
    peak_mb = peak_kb / 1024
    details = {
        "people": PEOPLE,
        "configuration": "Telegram (polling) + Viber (webhook), console mounted, SQLite",
        "telegram_people": TELEGRAM_PEOPLE,
        "viber_people": VIBER_PEOPLE,
        "steps_each": STEPS,
        "rounds": rounds,
        **traffic,
        "idle_rss_mb": round(idle_kb / 1024, 1),
        "after_serving_rss_mb": round(after_kb / 1024, 1),
        "peak_rss_mb": round(peak_mb, 1),
        "fill_seconds": round(filled, 1),
        "serve_seconds": round(served, 1),
    }
    return [
        Result("RSS idle, Telegram + Viber + console (MB)", idle_kb / 1024, "MB", details=details),
        Result("RSS after serving (MB)", after_kb / 1024, "MB", details=details),
        Result(
            "peak RSS, 100,000 people, Telegram + Viber + console",
            peak_mb,
            "MB",
            f"< {LIMIT_MB}",
            peak_mb < LIMIT_MB,
            details,
        ),
    ]
