"""`python -m bot run`: one aiohttp server (webhooks, /healthz, /metrics) plus every adapter."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import gc
import logging
import signal
import socket

from aiohttp import web
from aiohttp.typedefs import Handler

from bot.lazy_models import build_hot_models
from bot.lifecycle import start_services
from bot.ports import Adapter, Job
from bot.settings import Settings, SettingsError
from bot.wiring import App

log = logging.getLogger(__name__)

APP_KEY = web.AppKey("poruch_app", App)
#: the youngest generation is collected after this many new container objects (Python's
#: default is 700: on the hot path that meant a collection every couple of updates)
GC_GEN0_THRESHOLD = 50_000

# The server's own limits on slow clients, whatever proxy stands in front of it:
#: a connection is closed when a request's headers have not arrived this long after it
#: opened or after the last answer (aiohttp's default keeps an idle connection an hour)
IDLE_TIMEOUT = 15.0
#: a request's body must arrive within this once its headers have (webhooks are small)
READ_TIMEOUT = 10.0


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
    if app.db.statements is not None:
        app.metrics.count_statements(app.db.statements.value)
    return web.Response(body=app.metrics.render(), content_type="text/plain", charset="utf-8")


@web.middleware
async def read_in_time(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Read the whole body first, within READ_TIMEOUT: a trickling client is cut off."""
    if request.body_exists:
        try:
            async with asyncio.timeout(READ_TIMEOUT):
                if request.content_type == "multipart/form-data":
                    # A multipart body is a stream that read() would use up: post()
                    # parses it once, and the handler's post() gets the parsed form.
                    await request.post()
                else:
                    await request.read()  # kept by aiohttp: the handler's read() gets it
        except TimeoutError:
            log.warning("HTTP: a request body did not arrive within %s s", READ_TIMEOUT)
            response = web.Response(status=408, text="request timeout")
            response.force_close()
            return response
    return await handler(request)


def build_web_app(app: App) -> web.Application:
    web_app = web.Application(client_max_size=1024 * 1024, middlewares=[read_in_time])
    web_app[APP_KEY] = app
    web_app.router.add_get("/healthz", healthz)
    web_app.router.add_get("/metrics", metrics)
    from bot.console.web import add_console

    add_console(app, web_app)  # the staff web console under CONSOLE_PATH
    return web_app


def bind_http(settings: Settings) -> list[socket.socket]:
    """Claim HTTP_HOST:HTTP_PORT before anything else runs, so a taken port or an address
    this machine does not have stops the start with one line, not after migrations.

    The sockets are bound, not yet listening: the server listens on them once it is ready.
    """
    host, port = settings.http_host, settings.http_port
    try:
        addresses = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except (socket.gaierror, UnicodeError):
        raise SettingsError(f"invalid setting HTTP_HOST: cannot resolve {host!r}") from None
    sockets: list[socket.socket] = []
    bound: set[tuple[int, object]] = set()
    try:
        for family, kind, proto, _, address in addresses:
            if (family, address) in bound:  # /etc/hosts may name one address twice
                continue
            bound.add((family, address))
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.setblocking(False)
    except OSError as exc:
        for sock in sockets:
            sock.close()
        if exc.errno in (errno.EADDRINUSE, errno.EACCES):
            reason = "in use" if exc.errno == errno.EADDRINUSE else "not allowed for this user"
            raise SettingsError(
                f"invalid setting HTTP_PORT: port {port} on {host} is {reason}"
            ) from None
        raise SettingsError(
            f"invalid setting HTTP_HOST: cannot listen on {host!r} ({exc.strerror})"
        ) from None
    return sockets


def configured_adapters(app: App) -> list[Adapter[App]]:
    """The adapters the composition root chose for these settings (`bot.app.adapters_for`)."""
    return list(app.adapters)


def settle_memory() -> None:
    """After start-up: freeze what lives for ever, and collect the young less often.

    Start-up leaves some 280,000 tracked objects (aiogram's and pydantic's types,
    SQLAlchemy's mappers, the catalogs, the data files) that never become garbage, yet
    every full collection walked them all (0.2 s each). Frozen, the collector skips them.
    """
    build_hot_models()  # aiogram's, built on first use otherwise (bot/lazy_models.py)
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_GEN0_THRESHOLD, 20, 100)


async def serve(
    app: App,
    *,
    stop: asyncio.Event | None = None,
    sockets: list[socket.socket] | None = None,
) -> None:
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
    # No lingering: the rest of an unread body is not waited for, the connection closes.
    runner = web.AppRunner(
        web_app, access_log=None, keepalive_timeout=IDLE_TIMEOUT, lingering_time=0
    )
    await runner.setup()
    sites: list[web.BaseSite] = (
        [web.SockSite(runner, sock) for sock in sockets]
        if sockets
        else [web.TCPSite(runner, app.settings.http_host, app.settings.http_port)]
    )
    for site in sites:
        await site.start()
    log.info("HTTP server on %s:%s", app.settings.http_host, app.settings.http_port)
    services = await start_services(app)
    # Before polling begins: the collection takes a fifth of a second, which the first
    # updates would otherwise wait for.
    settle_memory()
    tasks = [asyncio.create_task(job()) for job in background]
    try:
        await stop.wait()
    finally:
        await services.stop()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await runner.cleanup()
