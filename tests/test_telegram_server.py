"""`python -m bot run` with TELEGRAM_TOKEN: the server, the adapter and the scheduler together."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import ClientSession

from bot.app import build_app
from bot.server import configured_adapters, serve
from handlers.telegram import telegram
from tests.conftest import make_settings
from tests.doubles.telegram_api import TelegramApiDouble
from tests.telegram_support import WAIT, free_port


@pytest.fixture
async def telegram_api() -> AsyncIterator[TelegramApiDouble]:
    double = await TelegramApiDouble().start()
    yield double
    await double.stop()


async def test_healthz_and_metrics_through_the_running_server(
    sqlite_url: str, telegram_api: TelegramApiDouble, clock: Any
) -> None:
    port = free_port()
    settings = make_settings(
        sqlite_url,
        telegram_token=telegram_api.token,
        telegram_api_base=telegram_api.base_url,
        http_port=port,
    )
    app = await build_app(settings, migrate=False, clock=clock)
    assert configured_adapters(app) == [telegram]
    stop = asyncio.Event()
    server = asyncio.create_task(serve(app, stop=stop))
    try:
        await telegram_api.user(77, language_code="en").says("/start")
        await telegram_api.wait_for_text(77, "Please choose your language")
        assert app.messengers.get("telegram") is not None
        async with ClientSession(base_url=f"http://127.0.0.1:{port}") as client:
            async with client.get("/healthz") as response:
                assert response.status == 200
                assert await response.json() == {"status": "ok", "database": True}
            async with client.get("/metrics") as response:
                assert response.status == 200
                metrics = await response.text()
    finally:
        stop.set()
        async with asyncio.timeout(WAIT):
            await server
        await app.close()
    assert 'poruch_updates_total{kind="command",platform="telegram"} 1.0' in metrics
    assert 'poruch_handler_seconds_count{platform="telegram"} 1.0' in metrics
    assert "poruch_send_errors_total" in metrics
    assert "poruch_active_dialogs" in metrics
    # Stopped for good: no polling loop left behind.
    calls = len(telegram_api.calls_of("getUpdates"))
    await asyncio.sleep(0.5)
    assert len(telegram_api.calls_of("getUpdates")) == calls


async def test_no_token_no_telegram(sqlite_url: str, clock: Any) -> None:
    app = await build_app(make_settings(sqlite_url), migrate=False, clock=clock)
    try:
        assert configured_adapters(app) == []
    finally:
        await app.close()


# A malformed TELEGRAM_TOKEN or TELEGRAM_WEBHOOK_SECRET is refused by the settings
# themselves, before migrations run (tests/test_settings.py).
