"""Shared fixtures: loopback-only network, databases (SQLite and PostgreSQL), the engine."""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bot.app import App, build_app
from bot.settings import Settings
from handlers.conversation import Conversation
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Base

_real_getaddrinfo = socket.getaddrinfo
LOOPBACK = {"127.0.0.1", "localhost", "::1", None}


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests may only talk to 127.0.0.1 / ::1."""

    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in LOOPBACK:
            raise OSError(f"tests may only talk to loopback, not {host!r}")
        return _real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)


POSTGRES_URL = os.environ.get("POSTGRES_TEST_URL")
REQUIRE_POSTGRES = os.environ.get("PORUCH_REQUIRE_POSTGRES") == "1"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate once; every test gets a copy of the migrated file."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_migrated() -> str:
    if not POSTGRES_URL:
        if REQUIRE_POSTGRES:
            pytest.fail("POSTGRES_TEST_URL is not set (run through scripts/with-postgres)")
        pytest.skip("PostgreSQL not configured: run `make test`")
    upgrade(POSTGRES_URL)
    return POSTGRES_URL


async def _truncate_postgres(url: str) -> None:
    db = Database(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    async with db.engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        extra = await conn.execute(
            text(
                "SELECT tablename FROM pg_tables"
                " WHERE schemaname='public' AND tablename LIKE 'apscheduler%'"
            )
        )
        for (name,) in extra:
            await conn.execute(text(f'TRUNCATE "{name}"'))
    await db.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
async def db_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> AsyncIterator[str]:
    """A migrated, empty database: each test runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "bot.sqlite3"
        shutil.copy(sqlite_template, path)
        yield f"sqlite+aiosqlite:///{path}"
    else:
        url = request.getfixturevalue("postgres_migrated")
        await _truncate_postgres(url)
        yield url


@pytest.fixture
async def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """SQLite only, for tests that are about dialogs rather than storage."""
    path = tmp_path / "bot.sqlite3"
    shutil.copy(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


class Clock:
    """A controllable clock for the runtime."""

    def __init__(self, now: datetime | None = None) -> None:
        self.current = now or datetime(2026, 11, 24, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make_settings(url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": url,
        "default_locale": "uk",
        "staff_ids": "",
        "secret_key": "poruch-tests-only-secret-key-0123456789",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def settings_factory() -> Callable[..., Settings]:
    return make_settings


@pytest.fixture
async def app(db_url: str, clock: Clock) -> AsyncIterator[App]:
    application = await build_app(make_settings(db_url), migrate=False, clock=clock)
    yield application
    await application.close()


@pytest.fixture
async def sqlite_app(sqlite_url: str, clock: Clock) -> AsyncIterator[App]:
    application = await build_app(make_settings(sqlite_url), migrate=False, clock=clock)
    yield application
    await application.close()


@pytest.fixture
async def second_process(app: App, clock: Clock) -> AsyncIterator[App]:
    """Another App on the same database, as a second bot process would be."""
    other = await build_app(make_settings(app.settings.database_url), migrate=False, clock=clock)
    yield other
    await other.close()


@pytest.fixture
def chat_factory(sqlite_app: App) -> Callable[..., Conversation]:
    def make(user_id: str = "1", **kwargs: Any) -> Conversation:
        return Conversation(sqlite_app.engine, user_id=user_id, **kwargs)

    return make


async def onboard(chat: Conversation, language: str = "en") -> None:
    """First contact: pick a language and accept the privacy notice."""
    await chat.says("/start")
    await chat.presses("English" if language == "en" else "Українська")
    await chat.presses("I agree" if language == "en" else "Погоджуюся")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def no_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith(("TELEGRAM_", "VIBER_", "DATABASE_", "STAFF_", "PUBLIC_")):
            monkeypatch.delenv(name)
    yield
