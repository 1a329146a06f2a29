"""Hostile webhook traffic: nested JSON, signed callbacks with bad ids, slow clients.

Each of these once got a 500 (which Viber and Telegram answer by sending the same
body again), stored a person named "None", or held a connection for as long as
the client liked.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

import bot.server
from bot.app import App
from bot.server import serve
from handlers import json_body
from storage.models.viber import ViberReceipt
from tests.conftest import Clock
from tests.doubles.telegram_api import TelegramApiDouble
from tests.doubles.viber_api import sign
from tests.telegram_support import WEBHOOK_SECRET, free_port, running_bot
from tests.viber_support import TOKEN, ViberWorld, viber_world


def nested(depth: int) -> bytes:
    return b'{"event": "message", "sender": ' + b"[" * depth + b"]" * depth + b"}"


async def post_signed(world: ViberWorld, raw: bytes) -> int:
    headers = {"X-Viber-Content-Signature": sign(TOKEN, raw)}
    async with (
        aiohttp.ClientSession() as http,
        http.post(world.server.make_url("/viber/webhook"), data=raw, headers=headers) as answer,
    ):
        return answer.status


async def receipts_count(world: ViberWorld) -> int:
    async with world.app.db.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(ViberReceipt)) or 0)


def test_the_depth_check_cannot_recurse() -> None:
    assert json_body.parse(b'{"a": [1, {"b": 2}]}') == {"a": [1, {"b": 2}]}
    assert not json_body.depth_exceeds({"a": [{"b": [1]}]}, 4)
    assert json_body.depth_exceeds({"a": [{"b": [1]}]}, 3)
    for body in (nested(json_body.MAX_DEPTH + 1), nested(200_000), b"\xff", b"{"):
        with pytest.raises(json_body.BadBody):
            json_body.parse(body)


async def test_viber_deeply_nested_json_gets_400(sqlite_url: str, clock: Clock) -> None:
    async with viber_world(sqlite_url, clock) as world:
        # 200,000 levels overflow the parser; 500 levels parse, yet no callback is that deep.
        for depth in (200_000, 500):
            assert await post_signed(world, nested(depth)) == 400
        assert await world.people_count() == 0
        assert await world.processed_count() == 0


async def test_telegram_deeply_nested_json_gets_400(sqlite_url: str, clock: Clock) -> None:
    double = await TelegramApiDouble().start()
    try:
        async with running_bot(sqlite_url, double, clock, mode="webhook") as running:
            headers = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
            async with aiohttp.ClientSession() as client:
                for depth in (200_000, 500):
                    body = b'{"update_id": 1, "message": ' + b"[" * depth + b"]" * depth + b"}"
                    async with client.post(
                        running.webhook_url, data=body, headers=headers
                    ) as response:
                        assert response.status == 400
    finally:
        await double.stop()


BAD_IDS: list[Any] = [None, {"id": "x=="}, ["x=="], "x" * 5000, 42, "", "two words", "a\nb"]


def short(value: Any) -> str:
    return repr(value)[:20]


@pytest.mark.parametrize("bad", BAD_IDS, ids=short)
async def test_viber_callbacks_with_a_bad_sender_id_are_refused(
    db_url: str, clock: Clock, bad: Any
) -> None:
    async with viber_world(db_url, clock) as world:
        callbacks: list[dict[str, Any]] = [
            {
                "event": "message",
                "timestamp": 1764000000000,
                "message_token": 5001,
                "sender": {"id": bad, "name": "x", "language": "en"},
                "message": {"type": "text", "text": "hello"},
            },
            {
                "event": "subscribed",
                "timestamp": 1764000000000,
                "message_token": 5002,
                "user": {"id": bad, "name": "x", "language": "en"},
            },
            {
                "event": "conversation_started",
                "timestamp": 1764000000000,
                "message_token": 5003,
                "type": "open",
                "user": {"id": bad, "name": "x", "language": "en"},
            },
            {
                "event": "delivered",
                "timestamp": 1764000000000,
                "message_token": 5004,
                "user_id": bad,
            },
        ]
        for callback in callbacks:
            status, _ = await world.viber.callback(callback)
            assert status == 400, callback["event"]
        assert await world.people_count() == 0
        assert await world.processed_count() == 0
        assert await receipts_count(world) == 0
        assert world.viber.sent == []


@pytest.mark.parametrize("bad", [None, {"t": 1}, "x" * 5000, 1.5, True], ids=short)
async def test_viber_callbacks_with_a_bad_message_token_are_refused(
    sqlite_url: str, clock: Clock, bad: Any
) -> None:
    async with viber_world(sqlite_url, clock) as world:
        status, _ = await world.viber.callback(
            {
                "event": "message",
                "timestamp": 1764000000000,
                "message_token": bad,
                "sender": {"id": "tok==", "name": "x", "language": "en"},
                "message": {"type": "text", "text": "hello"},
            }
        )
        assert status == 400
        assert await world.processed_count() == 0
        # A well-formed one from the same person goes through.
        status, _ = await world.viber.callback(
            {
                "event": "message",
                "timestamp": 1764000000000,
                "message_token": 6001,
                "sender": {"id": "tok==", "name": "x", "language": "en"},
                "message": {"type": "text", "text": "hello"},
            }
        )
        assert status == 200
        assert await world.people_count() == 1


# -- the HTTP server's own timeouts ----------------------------------------------------


async def closed_within(reader: asyncio.StreamReader, seconds: float) -> bytes:
    """Everything the server sends until it closes the connection (fails if it does not)."""
    async with asyncio.timeout(seconds):
        return await reader.read()


async def test_the_server_cuts_off_slow_and_idle_clients(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bot.server, "IDLE_TIMEOUT", 0.5, raising=False)
    monkeypatch.setattr(bot.server, "READ_TIMEOUT", 0.5, raising=False)
    port = free_port()
    app.settings = app.settings.model_copy(update={"http_port": port})
    stop = asyncio.Event()
    server = asyncio.create_task(serve(app, stop=stop))
    try:
        async with aiohttp.ClientSession() as client:
            for _ in range(100):
                try:
                    async with client.get(f"http://127.0.0.1:{port}/healthz") as response:
                        assert response.status == 200  # an honest client is served
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.05)
        # Connects and says nothing.
        idle_reader, idle_writer = await asyncio.open_connection("127.0.0.1", port)
        # Sends half the headers, then nothing more (slowloris).
        slow_reader, slow_writer = await asyncio.open_connection("127.0.0.1", port)
        slow_writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        # Sends the headers and 10 of 100 promised body bytes.
        body_reader, body_writer = await asyncio.open_connection("127.0.0.1", port)
        body_writer.write(
            b"POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n" + b"x" * 10
        )
        assert await closed_within(idle_reader, 5) == b""
        assert await closed_within(slow_reader, 5) == b""
        answer = await closed_within(body_reader, 5)
        assert answer.startswith(b"HTTP/1.1 408"), answer[:80]
        for writer in (idle_writer, slow_writer, body_writer):
            writer.close()
    finally:
        stop.set()
        async with asyncio.timeout(10):
            await server


def test_nested_helper_builds_what_it_says() -> None:
    assert json.loads(nested(3)) == {"event": "message", "sender": [[[]]]}
