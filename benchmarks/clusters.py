"""Throw-away PostgreSQL clusters on 127.0.0.1 for one benchmark run, durable and fast.

Each is `scripts/with-postgres` (the tests' cluster) holding a shell that prints the
URL and waits on its stdin: closing stdin ends the shell, and with-postgres stops and
removes the cluster — also when the benchmark dies, since its end of the pipe closes.

- durable: PostgreSQL's defaults, fsync and synchronous_commit on: a commit is on disk
  when the bot hears it was made (what a production database does);
- fast: fsync, synchronous_commit and full-page writes off, as the tests run it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START_WAIT = 180.0  # initdb on a busy machine, or installing PostgreSQL the first time


@contextlib.asynccontextmanager
async def cluster(*, durable: bool) -> AsyncIterator[str]:
    env = dict(os.environ, POSTGRES_DURABLE="1" if durable else "0")
    process = await asyncio.create_subprocess_exec(
        str(ROOT / "scripts" / "with-postgres"),
        "sh",
        "-c",
        'echo "$POSTGRES_TEST_URL"; exec cat >/dev/null',
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        async with asyncio.timeout(START_WAIT):
            line = await process.stdout.readline()
        url = line.decode().strip()
        if not url.startswith("postgresql"):
            raise RuntimeError("scripts/with-postgres did not start a cluster")
        yield url
    finally:
        process.stdin.close()
        try:
            async with asyncio.timeout(30):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()
