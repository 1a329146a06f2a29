"""Helpers for the staff console tests: a served app, sign-in, the CSRF token of a page."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.app import App
from bot.console.auth import issue_link
from bot.server import build_web_app

#: the console's test client (aiohttp's, typed for a plain web application)
Client = TestClient[web.Request, web.Application]

STAFF = "telegram:100"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@asynccontextmanager
async def served(app: App) -> AsyncIterator[Client]:
    server = TestServer(build_web_app(app), host="127.0.0.1")
    client: Client = TestClient(server)
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


async def new_link(app: App, staff_id: str = STAFF) -> str:
    async with app.db.transaction() as session:
        return await issue_link(session, app.settings, staff_id, app.runtime.now(), via="test")


async def sign_in(client: Client, app: App, staff_id: str = STAFF) -> str:
    """Sign in through a fresh one-time link; returns the CSRF token of the first page."""
    token = await new_link(app, staff_id)
    page = await client.get(f"/console/signin/{token}")
    assert page.status == 200
    response = await client.post(f"/console/signin/{token}")
    assert response.status == 200, await response.text()  # followed to the first page
    return csrf_of(await response.text())


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF field on the page"
    return match.group(1)
