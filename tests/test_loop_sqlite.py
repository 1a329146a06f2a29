"""SQLite on the loop's thread (storage/loop_sqlite.py): no thread per statement, and
another process's write lock is waited for without holding up the loop."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from storage.db import Database
from storage.models import Person
from storage.repositories import People


async def test_statements_run_on_the_loops_thread(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    threads: set[int] = set()
    try:
        async with db.transaction() as session:
            raw: Any = (await (await session.connection()).get_raw_connection()).driver_connection
            raw._conn.set_trace_callback(lambda _: threads.add(threading.get_ident()))
            await People(session).get_or_register("test", "1")
            assert await session.get(Person, 1) is not None
        assert threads == {threading.get_ident()}
    finally:
        await db.dispose()


async def test_another_process_holding_the_write_lock_does_not_stop_the_loop(
    sqlite_url: str,
) -> None:
    path = make_url(sqlite_url).database
    assert path
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # a command-line import, say, is writing
    db = Database(sqlite_url)
    ticks = 0

    async def heartbeat() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    async def write() -> None:
        async with db.transaction() as session:
            await session.execute(text("SELECT 1"))

    beating = asyncio.create_task(heartbeat())
    try:
        writing = asyncio.create_task(write())
        started = time.monotonic()
        await asyncio.sleep(0.3)
        assert not writing.done()  # waiting for the lock …
        assert ticks >= 10  # … while the loop goes on
        other.execute("ROLLBACK")
        await asyncio.wait_for(writing, 5)
        assert time.monotonic() - started < 5
    finally:
        beating.cancel()
        other.close()
        await db.dispose()
