"""Bring the schema up to date with Alembic, from code (no alembic.ini needed)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["configure_logger"] = False
    return config


def upgrade(url: str, revision: str = "heads") -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        command.upgrade(alembic_config(url), revision)
        return
    # Called from async code (a fixture, a command): Alembic's env needs its own loop.
    with ThreadPoolExecutor(max_workers=1) as worker:
        worker.submit(command.upgrade, alembic_config(url), revision).result()


async def upgrade_async(url: str, revision: str = "heads") -> None:
    """Alembic's env runs its own event loop, so it runs in a worker thread here."""
    await asyncio.to_thread(upgrade, url, revision)


def autogenerate(url: str, message: str, rev_id: str, head: str = "heads") -> None:
    """Write a new revision from the difference between the models and `url`'s schema.

    Developers: `python -m storage.migrate "add outbox" 0002_delivery` (on a scratch SQLite).
    """
    command.revision(
        alembic_config(url), message=message, autogenerate=True, rev_id=rev_id, head=head
    )


if __name__ == "__main__":
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        scratch_url = f"sqlite+aiosqlite:///{scratch}/scratch.sqlite3"
        upgrade(scratch_url)
        autogenerate(scratch_url, sys.argv[1], sys.argv[2])
