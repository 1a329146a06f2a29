"""Real `python -m bot run` processes for the tests that need a whole bot: crash, scale-out.

One place for what tests/test_crash_safety.py, tests/test_outbox_crash.py and
tests/test_scaleout.py each used to spell out: the environment of a bot process
talking to the Bot API double in the test's process, waiting until it serves,
stopping it (gracefully, or killing it when it hangs), reading its /metrics, and
the onboarded people a test stores before the bot starts.
"""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from sqlalchemy import insert, select

from benchmarks.common import onboarded_person
from storage.db import Database
from storage.models import Person
from tests.doubles.telegram_api import TelegramApiDouble
from tests.telegram_support import WEBHOOK_SECRET, free_port

ROOT = Path(__file__).resolve().parent.parent
START_WAIT = 60.0  # seconds for a bot process to import, migrate and serve
STOP_WAIT = 15.0  # seconds a SIGTERM may take before the process is killed
SECRET_KEY = "poruch-tests-only-secret-key-0123456789"


@dataclass
class BotProcess:
    port: int
    process: asyncio.subprocess.Process
    log: Path

    @property
    def webhook(self) -> str:
        return f"http://127.0.0.1:{self.port}/telegram/webhook"

    def kill(self) -> None:
        """SIGKILL: no drain, no give-back, nothing flushed."""
        self.process.kill()

    async def metric(self, name: str, *labels: str) -> float:
        """The sum of `name` over the series carrying every one of `labels` (k="v")."""
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{self.port}/metrics") as response,
        ):
            text = await response.text()
        return sum(
            float(line.rpartition(" ")[2])
            for line in text.splitlines()
            if line.startswith(name) and all(label in line for label in labels)
        )


def bot_env(
    url: str, double: TelegramApiDouble, port: int, *, mode: str = "polling", **values: str
) -> dict[str, str]:
    """The bot's environment: ours only, nothing inherited from a developer's TELEGRAM_/VIBER_."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "VIBER_"))}
    env.update(
        PYTHONPATH=str(ROOT),
        DATABASE_URL=url,
        TELEGRAM_TOKEN=double.token,
        TELEGRAM_API_BASE=double.base_url,
        TELEGRAM_MODE=mode,
        HTTP_HOST="127.0.0.1",
        HTTP_PORT=str(port),
        DEFAULT_LOCALE="uk",
        STAFF_IDS="",
        LOG_LEVEL="WARNING",
        LOG_FORMAT="json",
        SECRET_KEY=SECRET_KEY,
    )
    if mode == "webhook":
        env.update(
            TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET, PUBLIC_BASE_URL=f"http://127.0.0.1:{port}"
        )
    env.update(values)
    return env


async def start_bot(
    url: str,
    double: TelegramApiDouble,
    folder: Path,
    name: str,
    *,
    mode: str = "polling",
    **values: str,
) -> BotProcess:
    """`python -m bot run` on a free port; its output goes to `folder/name.log` (appended)."""
    port = free_port()
    env = bot_env(url, double, port, mode=mode, **values)
    log = folder / f"{name}.log"
    with log.open("ab") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", env=env, cwd=ROOT, stdout=out, stderr=out
        )
    return BotProcess(port, process, log)


async def ready(bot: BotProcess) -> None:
    """Until /healthz answers (the server is up; services start right after)."""
    async with asyncio.timeout(START_WAIT), aiohttp.ClientSession() as session:
        while True:
            assert bot.process.returncode is None, bot.log.read_text()[-3000:]
            try:
                async with session.get(f"http://127.0.0.1:{bot.port}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)


async def stop(bot: BotProcess) -> None:
    """SIGTERM, as an operator would; SIGKILL when it hangs. A dead process is left be."""
    if bot.process.returncode is None:
        bot.process.terminate()
        try:
            async with asyncio.timeout(STOP_WAIT):
                await bot.process.wait()
        except TimeoutError:
            bot.process.kill()
            await bot.process.wait()


async def two_webhook_bots(
    url: str, double: TelegramApiDouble, folder: Path, **values: str
) -> list[BotProcess]:
    """Two workers on one database, each with its own webhook, both registered."""
    bots = [await start_bot(url, double, folder, name, mode="webhook", **values) for name in "ab"]
    try:
        await asyncio.gather(*(ready(bot) for bot in bots))
        await double.wait_until(lambda: len(double.calls_of("setWebhook")) >= 2, START_WAIT)
    except BaseException:
        await asyncio.gather(*(stop(bot) for bot in bots))
        raise
    return bots


async def onboarded_people(
    url: str, first_id: int, count: int, *, locale: str = "uk"
) -> list[int]:
    """Telegram people who accepted the privacy notice and take announcements; their ids."""
    now = datetime.now(UTC)
    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            await conn.execute(
                insert(Person.__table__),  # type: ignore[arg-type]
                [
                    {
                        **onboarded_person(now),
                        "platform_user_id": str(first_id + i),
                        "locale": locale,
                    }
                    for i in range(count)
                ],
            )
            return list(await conn.scalars(select(Person.__table__.c.id).order_by("id")))
    finally:
        await db.dispose()
