"""The bot's HTTP server with the Viber adapter, wired to the Viber double on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from unittest.mock import patch

from aiohttp.test_utils import TestServer
from sqlalchemy import func, select

import bot.app
from bot.app import App, build_app
from bot.resources import Resources
from bot.server import build_web_app
from bot.settings import Settings
from handlers.viber import ADAPTER_KEY, ViberAdapter, viber_adapter
from storage.models import Person, ProcessedEvent
from storage.repositories import DialogStates, People
from tests.conftest import Clock, make_settings
from tests.doubles.viber_api import ViberDouble, ViberPerson

TOKEN = "4453b6ac12345678-e02c5f12174805f9-daec9cbb5448c51f"


@dataclass
class ViberWorld:
    app: App
    viber: ViberDouble
    server: TestServer
    adapter: ViberAdapter

    def person(self, user_id: str, language: str = "uk", api_version: int = 10) -> ViberPerson:
        """A person in the Viber app; `api_version` is their client's (3: Viber 7.6)."""
        return self.viber.person(user_id, language=language, api_version=api_version)

    async def stored_person(self, user_id: str) -> Person | None:
        async with self.app.db.transaction() as session:
            return await People(session).find("viber", user_id)

    async def people_count(self) -> int:
        async with self.app.db.transaction() as session:
            return await People(session).count()

    async def processed_count(self) -> int:
        async with self.app.db.transaction() as session:
            count = await session.scalar(select(func.count()).select_from(ProcessedEvent))
            return int(count or 0)

    async def put_in(self, user_id: str, dialog: str, step: str) -> None:
        """Arrange: place a stored person at a step (for steps no menu reaches yet)."""
        async with self.app.db.transaction() as session:
            person = await People(session).find("viber", user_id)
            assert person is not None
            states = DialogStates(session)
            state = await states.load(person.id)
            assert state is not None
            state.dialog, state.step, state.history, state.data = dialog, step, [], {}
            await states.save(person.id, state)


_loaded: list[Resources] = []
_load_resources = bot.app.load_resources


def shared_resources(settings: Settings, *args: Any) -> Resources:
    """The shipped service data, read once for all Viber tests (it takes over a second)."""
    if not _loaded:
        _loaded.append(_load_resources(settings, *args))
    return _loaded[0]


@asynccontextmanager
async def viber_world(db_url: str, clock: Clock, **overrides: Any) -> AsyncIterator[ViberWorld]:
    viber = ViberDouble(TOKEN)
    await viber.start()
    settings = make_settings(
        db_url,
        viber_token=TOKEN,
        viber_api_base=viber.base_url,
        public_base_url="http://127.0.0.1:9",  # the real port is known once the server runs
        **overrides,
    )
    with patch.object(bot.app, "load_resources", shared_resources):
        app = await build_app(settings, migrate=False, clock=clock)
    web_app = build_web_app(app)
    job = await viber_adapter(app, web_app)
    server = TestServer(web_app, host="127.0.0.1")
    await server.start_server()
    try:
        settings.public_base_url = str(server.make_url("")).rstrip("/")
        assert job is not None
        await job()  # set_webhook, as `serve` does once the server listens
        yield ViberWorld(app=app, viber=viber, server=server, adapter=web_app[ADAPTER_KEY])
    finally:
        await server.close()
        await viber.stop()
        await app.close()


async def onboard(person: ViberPerson, language: str = "en") -> None:
    """Open the chat, pick the language, accept the privacy notice: the main menu."""
    await person.opens()
    await person.presses("English" if language == "en" else "Українська")
    await person.presses("I agree" if language == "en" else "Погоджуюся")
