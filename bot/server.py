"""`python -m bot run`: one aiohttp server (webhooks, /healthz, /metrics) plus every adapter."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Callable, Coroutine
from typing import Any

from aiohttp import web

from bot.app import App
from bot.lifecycle import start_services

log = logging.getLogger(__name__)

APP_KEY = web.AppKey("poruch_app", App)
#: the youngest generation is collected after this many new container objects (Python's
#: default is 700: on the hot path that meant a collection every couple of updates)
GC_GEN0_THRESHOLD = 50_000

# An adapter plugs into the server: it may add routes, and returns a coroutine to run
# beside the server (polling loop) or None. It is called before the server starts.
Job = Callable[[], Coroutine[Any, Any, None]]
Adapter = Callable[[App, web.Application], Coroutine[Any, Any, Job | None]]


async def healthz(request: web.Request) -> web.Response:
    app = request.app[APP_KEY]
    ok = await app.db.ping()
    body = {"status": "ok" if ok else "unavailable", "database": ok}
    return web.json_response(body, status=200 if ok else 503)


async def metrics(request: web.Request) -> web.Response:
    app = request.app[APP_KEY]
    from storage.repositories import DialogStates

    with contextlib.suppress(Exception):  # a slow database must not break the scrape
        async with app.db.transaction() as session:
            app.metrics.active_dialogs.set(await DialogStates(session).count_active())
    return web.Response(body=app.metrics.render(), content_type="text/plain", charset="utf-8")


def build_web_app(app: App) -> web.Application:
    web_app = web.Application(client_max_size=1024 * 1024)
    web_app[APP_KEY] = app
    web_app.router.add_get("/healthz", healthz)
    web_app.router.add_get("/metrics", metrics)
    return web_app


def configured_adapters(app: App) -> list[Adapter]:
    adapters: list[Adapter] = []
    if app.settings.telegram_token:
        from handlers.telegram import telegram

        adapters.append(telegram)
    if app.settings.viber_token:
        from handlers.viber import viber_adapter

        adapters.append(viber_adapter)
    return adapters


def settle_memory() -> None:
    """After start-up: freeze what lives for ever, and collect the young less often.

    Start-up leaves some 280,000 tracked objects (aiogram's and pydantic's types,
    SQLAlchemy's mappers, the catalogs, the data files) that never become garbage, yet
    every full collection walked them all (0.2 s each). Frozen, the collector skips them.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_GEN0_THRESHOLD, 20, 100)


async def serve(app: App, *, stop: asyncio.Event | None = None) -> None:
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    web_app = build_web_app(app)
    background: list[Job] = []
    for adapter in configured_adapters(app):
        job = await adapter(app, web_app)
        if job is not None:
            background.append(job)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, app.settings.http_host, app.settings.http_port)
    await site.start()
    log.info("HTTP server on %s:%s", app.settings.http_host, app.settings.http_port)
    tasks = [asyncio.create_task(job()) for job in background]
    services = await start_services(app)
    settle_memory()
    try:
        await stop.wait()
    finally:
        await services.stop()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await runner.cleanup()
