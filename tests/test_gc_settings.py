"""`python -m bot run` serves through `bot.server.serve`: once started, what start-up
left is frozen (full collections no longer walk it) and the young generation is
collected less often (docs/benchmarks.md: 0.1–0.4 ms an update otherwise)."""

from __future__ import annotations

import asyncio
import gc

from bot.app import App
from bot.server import GC_GEN0_THRESHOLD, serve
from tests.telegram_support import free_port


async def test_serving_freezes_start_up_and_raises_the_young_generations_threshold(
    sqlite_app: App,
) -> None:
    threshold = gc.get_threshold()
    gc.unfreeze()  # whatever an earlier test's server froze
    sqlite_app.settings = sqlite_app.settings.model_copy(update={"http_port": free_port()})
    stop = asyncio.Event()
    server = asyncio.create_task(serve(sqlite_app, stop=stop))
    try:
        for _ in range(400):  # a bound, not a timing: start-up ends at its own pace
            if gc.get_freeze_count() or server.done():
                break
            await asyncio.sleep(0.05)
        assert gc.get_freeze_count() > 10_000
        assert gc.get_threshold()[0] == GC_GEN0_THRESHOLD > threshold[0]
    finally:
        stop.set()
        await server
        gc.set_threshold(*threshold)
