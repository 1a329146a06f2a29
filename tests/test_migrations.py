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
