"""Bots under test run in their own processes, so each is measured alone on its CPU time."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import Mapping
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
STOP_SECONDS = 20.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bot_env(database_url: str, **values: str) -> dict[str, str]:
    """`python -m bot run`'s environment: ours only, nothing inherited from a .env."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "VIBER_"))}
    env.update(
        PYTHONPATH=str(ROOT),
        DATABASE_URL=database_url,
        DEFAULT_LOCALE="uk",
        STAFF_IDS="",
        HTTP_HOST="127.0.0.1",
        LOG_LEVEL="WARNING",
    )
    env.update(values)
    return env


async def start(args: list[str], env: Mapping[str, str], log: Path) -> asyncio.subprocess.Process:
    handle = log.open("wb")
    try:
        return await asyncio.create_subprocess_exec(
            sys.executable, *args, env=dict(env), cwd=ROOT, stdout=handle, stderr=handle
        )
    finally:
        handle.close()


async def stop(process: asyncio.subprocess.Process) -> int:
    """SIGTERM (a graceful stop, as an operator would), then kill if it hangs."""
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(STOP_SECONDS):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()
    return process.returncode or 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds() -> float:
    """CPU time of every live PostgreSQL process (the server's side of the work; a
    backend that exits takes its share with it, which the bot's pooled ones do not)."""
    total = 0.0
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if (proc / "comm").read_text().strip() == "postgres":
                    total += cpu_seconds(int(proc.name))
            except OSError:
                continue
    return total


async def postgres_transactions(url: str) -> float:
    """Transactions committed and rolled back in the database so far (pg_stat_database)."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    text(
                        "SELECT xact_commit + xact_rollback FROM pg_stat_database"
                        " WHERE datname = current_database()"
                    )
                )
            ).one()
    finally:
        await engine.dispose()
    return float(row[0])


async def fetch_metrics(port: int) -> dict[str, float]:
    """`GET /metrics` of a running bot, as {"name{labels}": value}."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/metrics") as response,
    ):
        text = await response.text()
    values: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            with contextlib.suppress(ValueError):
                values[name] = float(value)
    return values
