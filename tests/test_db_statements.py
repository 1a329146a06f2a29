"""DB_COUNT_STATEMENTS (SQLite): every statement the process sends is counted, the hot
store's (which talks to the driver, not to SQLAlchemy) and BEGIN/COMMIT included."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from bot.app import App, build_app
from bot.engine import Incoming, Kind
from handlers.conversation import Conversation
from tests.conftest import Clock, make_settings, onboard


@pytest.fixture
async def counted(sqlite_url: str, clock: Clock) -> AsyncIterator[App]:
    app = await build_app(make_settings(sqlite_url, db_count_statements=True), clock=clock)
    yield app
    await app.close()


async def test_a_transaction_is_counted_statement_by_statement(counted: App) -> None:
    assert counted.db.statements is not None
    async with counted.db.transaction() as session:  # a connection that is counted
        await session.execute(text("SELECT 1"))
    before = counted.db.statements.value
    async with counted.db.transaction() as session:
        await session.execute(text("SELECT 1"))
        await session.execute(text("SELECT 2"))
    await _settled()
    assert counted.db.statements.value - before == 4  # BEGIN, two SELECTs, COMMIT


async def test_an_update_on_the_hot_path_is_counted(counted: App) -> None:
    chat = Conversation(counted.engine, user_id="7")
    await onboard(chat)
    counted.db.hot_cache.forget(None)  # everyone: the person is read from the database again
    assert counted.db.statements is not None
    before = counted.db.statements.value
    await counted.engine.handle(
        Incoming("test", "7", Kind.BUTTON, payload="g:menu", event_id="count-1")
    )
    await _settled()
    # BEGIN (one per batch), SELECT person and state, UPDATE state, INSERT claim, COMMIT;
    # no SAVEPOINT: a batch takes them only when one of its events did not succeed
    assert counted.db.statements.value - before == 5
    before = counted.db.statements.value
    await counted.engine.handle(
        Incoming("test", "7", Kind.BUTTON, payload="g:menu", event_id="count-2")
    )
    await _settled()
    assert counted.db.statements.value - before == 4  # the person from the cache


async def test_metrics_show_the_count_only_when_asked(sqlite_app: App, counted: App) -> None:
    assert sqlite_app.db.statements is None
    assert counted.db.statements is not None
    counted.metrics.count_statements(counted.db.statements.value)
    shown = counted.metrics.render().decode()
    assert f"poruch_db_statements_total {float(counted.db.statements.value)}" in shown


async def _settled() -> None:
    await asyncio.sleep(0)  # SQLite's hook runs with the statement; nothing to wait for
