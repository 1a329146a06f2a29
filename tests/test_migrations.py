"""The migration history stays one straight line, and every step can be undone."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect

from storage.migrate import alembic_config, upgrade


def test_one_head() -> None:
    """Feature branches are merged, so `migrate` has one target and downgrades are unambiguous."""
    script = ScriptDirectory.from_config(alembic_config("sqlite+aiosqlite://"))
    assert len(script.get_heads()) == 1, script.get_heads()


def test_downgrade_to_nothing_and_up_again(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'm.sqlite3'}"
    upgrade(url)
    command.downgrade(alembic_config(url), "base")
    tables = set(inspect(create_engine(f"sqlite:///{tmp_path / 'm.sqlite3'}")).get_table_names())
    assert tables <= {"alembic_version"}, tables
    upgrade(url)
    tables = set(inspect(create_engine(f"sqlite:///{tmp_path / 'm.sqlite3'}")).get_table_names())
    assert {"people", "outbox", "appointments"} <= tables


def test_the_old_job_store_table_goes(tmp_path: Path) -> None:
    """Reminders and releases are data now: APScheduler's table (PostgreSQL kept it in the
    bot's database) is dropped; its reminders are recomputed at start."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'j.sqlite3'}"
    command.upgrade(alembic_config(url), "0009_console")
    sync = create_engine(f"sqlite:///{tmp_path / 'j.sqlite3'}")
    with sync.begin() as connection:
        connection.exec_driver_sql(
            "CREATE TABLE apscheduler_jobs (id VARCHAR(191) PRIMARY KEY, "
            "next_run_time FLOAT, job_state BLOB NOT NULL)"
        )
    upgrade(url)
    found = inspect(sync)
    assert "apscheduler_jobs" not in found.get_table_names()
    assert "not_after" in {c["name"] for c in found.get_columns("outbox")}
