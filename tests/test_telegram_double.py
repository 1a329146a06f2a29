"""The Bot API double keeps Telegram's webhook rules the adapter relies on."""

from __future__ import annotations

import asyncio

import aiohttp
from aiohttp import web

from tests.doubles.telegram_api import TelegramApiDouble


async def test_the_webhook_gets_at_most_max_connections_requests_at_once() -> None:
    """setWebhook's max_connections (1-100, 40 when not given) bounds the requests open
    at once: a bot that answers only after its commit sees no more than that."""
    open_now, most = 0, 0
    release = asyncio.Event()

    async def slow_bot(_request: web.Request) -> web.Response:
        nonlocal open_now, most
        open_now += 1
        most = max(most, open_now)
        await release.wait()
        open_now -= 1
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", slow_bot)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    double = await TelegramApiDouble().start()
    try:
        async with aiohttp.ClientSession() as client:

            async def set_webhook(**params: object) -> dict[str, object]:
                url = f"{double.base_url}/bot{double.token}/setWebhook"
                body = {"url": f"http://127.0.0.1:{port}/hook", **params}
                async with client.post(url, json=body) as resp:
                    return dict(await resp.json())

            assert (await set_webhook(max_connections=101))["ok"] is False
            assert (await set_webhook())["ok"] is True
            assert double.webhook_max_connections == 40
            assert (await set_webhook(max_connections=3))["ok"] is True
            user = double.user(1)
            sending = [asyncio.create_task(user.says(f"m{n}")) for n in range(7)]
            await asyncio.sleep(0.3)
            assert most == 3
            release.set()
            await asyncio.gather(*sending)
            assert most == 3
    finally:
        await double.stop()
        await runner.cleanup()
