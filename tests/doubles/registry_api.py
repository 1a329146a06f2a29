"""A loopback test double of the application-status registry (docs/status.md).

    async with RegistryDouble() as registry:
        registry.add("VPO-2026-000123", "1984-03-15", "in_review", "2026-11-20T10:00:00+02:00")
        registry.mode = "slow"   # "up" | "slow" | "down" | "broken"

Strict like the real thing is expected to be: only `POST /applications/lookup`
with a JSON body holding `number` and `birth_date`; 404 for an unknown number
and for a wrong birth date alike.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from aiohttp import web

from bot.services.status.numbers import parse_number


@dataclass
class RegistryDouble:
    mode: str = "up"
    delay: float = 1.0  # how long "slow" takes to answer
    requests: list[dict[str, Any]] = field(default_factory=list)
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    _runner: web.AppRunner | None = None
    url: str = ""

    def add(
        self, number: str, birth_date: str, status: str, updated_at: str, note: str = ""
    ) -> None:
        parsed = parse_number(number)
        assert parsed is not None
        self.records[parsed.key] = {
            "birth_date": birth_date,
            "status": status,
            "updated_at": updated_at,
            "note": note,
        }

    async def _lookup(self, request: web.Request) -> web.Response:
        if request.content_type != "application/json":
            return web.json_response({"error": "json expected"}, status=415)
        body = await request.json()
        self.requests.append(body)
        if self.mode == "down":
            return web.json_response({"error": "maintenance"}, status=503)
        if self.mode == "slow":
            await asyncio.sleep(self.delay)
        if self.mode == "broken":
            return web.Response(text="<html>proxy error</html>", content_type="text/html")
        if not isinstance(body, dict) or set(body) != {"number", "birth_date"}:
            return web.json_response({"error": "bad request"}, status=400)
        parsed = parse_number(str(body["number"]))
        record = self.records.get(parsed.key) if parsed else None
        if record is None or record["birth_date"] != body["birth_date"]:
            return web.json_response({"error": "not_found"}, status=404)
        return web.json_response(
            {
                "status": record["status"],
                "updated_at": record["updated_at"],
                "note": record["note"],
            }
        )

    async def __aenter__(self) -> RegistryDouble:
        app = web.Application()
        app.router.add_post("/applications/lookup", self._lookup)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
