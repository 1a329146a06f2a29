"""(1) End-to-end Telegram throughput: Poruch against a bare aiogram echo bot, same run.

Both bots poll (getUpdates) the strict Bot API double over loopback and are
fed the same load: 200 simulated people, 15 updates each (3,000 in all).
A person sends an update, waits until the bot's answer with buttons arrives,
reads it and reacts the way a person would: presses an offered button
(preferring eligibility and status in the menu), types an application number
or a birth date when asked, now and then types something else. Poruch is
`python -m bot run` exactly as deployed (aiogram, adapter, engine, services,
PostgreSQL when available, else SQLite) with the demo data loaded.

Why the double runs in this process and each bot in its own: the bot under
test gets a CPU to itself and pays only for its own work, never for the
double's HTML checks or the simulated people; and the two bots are measured
identically, from the first update offered to the last answer the double
received. With the double inside the bot's process, its cost (the same per
update for both bots) would be added to both sides and push the ratio
towards 1 — flattering, not fair.

updates/s = 3,000 / that time; ratio = Poruch / echo. Goal: ratio ≥ 0.8.
With BENCH_PROFILE=1 Poruch runs under cProfile and the top of the profile
is written next to the results.
"""

from __future__ import annotations

import asyncio
import io
import os
import pstats
import random
import re
import signal
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.common import RESULTS, Result, fresh_database, postgres_url, settings_for
from benchmarks.double import BenchDouble
from benchmarks.processes import bot_env, cpu_seconds, fetch_metrics, free_port, start, stop
from bot.app import build_app
from bot.demo import seed_all
from tests.doubles.telegram_api import Sent, TgUser

PEOPLE = 200
UPDATES_EACH = 15
GOAL = 0.8
ANSWER_WAIT = 10.0  # seconds a person waits for an answer before giving up on it
QUIET = 0.5  # after the last person, the bot is done when it has sent nothing this long
READY_WAIT = 60.0
POLLING_CAP = 25.0  # the double holds getUpdates like Telegram does: no busy re-polling

ASKS_NUMBER = re.compile(r"application number|номер заяви", re.IGNORECASE)
ASKS_BIRTH = re.compile(r"date of birth|дату народження", re.IGNORECASE)
NAVIGATION = re.compile(r"^\s*(◀|☰|↺)")
AVOID = re.compile(r"delete|видал", re.IGNORECASE)  # erasing one's data ends the walk
FAVOURITE = ("✅", "📄")  # Check eligibility, My application status (and "I agree")
DEMO_APPLICATIONS = [
    ("VPO-2026-000123", "15.03.1984"),
    ("VPO-2026-000124", "02.07.1979"),
    ("VPO-2026-000125", "01.12.1961"),
    ("VPO-2026-000126", "23.05.1990"),
]
TYPED = ["так", "ні", "45", "12000", "3", "привіт", "menu", "допоможіть"]


@dataclass
class Walker:
    """One simulated person: reads the bot's answer, then acts on it."""

    double: BenchDouble
    tg: TgUser
    rng: random.Random
    application: tuple[str, str] = ("", "")
    stalls: int = 0
    sent: int = 0
    kinds: dict[str, int] = field(default_factory=dict)

    async def walk(self, updates: int) -> None:
        inbox = self.double.inbox(self.tg.id)
        answer: Sent | None = None
        for index in range(updates):
            if index == 0:
                await self._text("/start")
            elif answer is None:
                await self._text("menu")
            else:
                await self._react(answer)
            answer = await self._answer(inbox)

    async def _answer(self, inbox: asyncio.Queue[Sent]) -> Sent | None:
        """The bot's next message with buttons (the question that ends an answer)."""
        try:
            async with asyncio.timeout(ANSWER_WAIT):
                while True:
                    message = await inbox.get()
                    if message.buttons or message.keyboard:
                        return message
        except TimeoutError:
            self.stalls += 1
            if os.environ.get("BENCH_DEBUG"):
                last = self.double.sent_to(self.tg.id)[-2:]
                print("STALL", self.kinds, [(m.text[:80], m.markup) for m in last], flush=True)
            return None

    async def _react(self, message: Sent) -> None:
        rng = self.rng
        if ASKS_NUMBER.search(message.text):
            self.application = rng.choice(DEMO_APPLICATIONS)
            number = self.application[0] if rng.random() < 0.8 else "ABC-1"
            return await self._text(number)
        if ASKS_BIRTH.search(message.text):
            birth = self.application[1] if rng.random() < 0.8 else "01.01.1970"
            return await self._text(birth)
        buttons = [b for b in message.buttons if "callback_data" in b]
        content = [
            b for b in buttons if not NAVIGATION.match(b["text"]) and not AVOID.search(b["text"])
        ]
        if content and rng.random() < 0.9:
            favourites = [b for b in content if b["text"].startswith(FAVOURITE)]
            pool = favourites if favourites and rng.random() < 0.8 else content
            return await self._press(rng.choice(pool)["callback_data"], message)
        if buttons and rng.random() < 0.5:
            return await self._press(rng.choice(buttons)["callback_data"], message)
        return await self._text(rng.choice(TYPED))

    async def _text(self, text: str) -> None:
        self._count("text")
        await self.tg.says(text)

    async def _press(self, data: str, message: Sent) -> None:
        self._count("button")
        await self.tg.presses_data(data, message)

    def _count(self, kind: str) -> None:
        self.sent += 1
        self.kinds[kind] = self.kinds.get(kind, 0) + 1


@dataclass
class Measured:
    updates: int
    seconds: float
    stalls: int
    kinds: dict[str, int]
    api_calls: int
    messages: int
    cpu: float = 0.0  # the bot process's CPU seconds while it was being driven

    @property
    def cpu_ms_per_update(self) -> float:
        return 1000 * self.cpu / self.updates

    @property
    def rate(self) -> float:
        return self.updates / self.seconds


async def drive(double: BenchDouble, people: int, updates_each: int, seed: int) -> Measured:
    double.forget_history()
    rng = random.Random(seed)
    walkers = [
        Walker(
            double,
            double.user(
                10_000 + i,
                language_code=rng.choice(["uk", "uk", "uk", "en"]),
                first_name=f"P{i}",
            ),
            random.Random(rng.randrange(1 << 30)),
        )
        for i in range(people)
    ]
    started = time.monotonic()
    await asyncio.gather(*(w.walk(updates_each) for w in walkers))
    # The last answers may still be on their way: done when the bot falls quiet.
    while double.send_times and time.monotonic() - double.send_times[-1] < QUIET:  # noqa: ASYNC110
        await asyncio.sleep(QUIET / 5)
    finished = double.send_times[-1] if double.send_times else time.monotonic()
    kinds: dict[str, int] = {}
    for walker in walkers:
        for kind, n in walker.kinds.items():
            kinds[kind] = kinds.get(kind, 0) + n
    return Measured(
        updates=sum(w.sent for w in walkers),
        seconds=finished - started,
        stalls=sum(w.stalls for w in walkers),
        kinds=kinds,
        api_calls=len(double.calls),
        messages=len(double.sent),
    )


async def timed_drive(double: BenchDouble, pid: int) -> Measured:
    cpu = cpu_seconds(pid)
    measured = await drive(double, PEOPLE, UPDATES_EACH, seed=11)
    measured.cpu = cpu_seconds(pid) - cpu
    return measured


async def wait_ready(double: BenchDouble, process: object, log: Path) -> None:
    """Until the bot asks for updates (it has started polling)."""
    try:
        await double.wait_until(lambda: bool(double.calls_of("getUpdates")), READY_WAIT)
    except TimeoutError:
        tail = log.read_text()[-3000:]  # noqa: ASYNC240 (start-up failed: nothing else runs)
        raise RuntimeError(f"the bot did not start polling:\n{tail}") from None


async def measure_echo(double: BenchDouble, folder: Path) -> Measured:
    double.forget_history()
    env = bot_env("", TELEGRAM_TOKEN=double.token, TELEGRAM_API_BASE=double.base_url)
    log = folder / "echo.log"
    process = await start(["-m", "benchmarks.echo_bot"], env, log)
    try:
        await wait_ready(double, process, log)
        return await timed_drive(double, process.pid)
    finally:
        await stop(process)


async def prepare_database(url: str) -> None:
    await fresh_database(url)
    app = await build_app(settings_for(url), migrate=False)
    try:
        await seed_all(app)  # demo applications (status lookups), offices (booking)
    finally:
        await app.close()


async def measure_poruch(
    double: BenchDouble, url: str, folder: Path
) -> tuple[Measured, dict[str, float], str]:
    await prepare_database(url)
    double.forget_history()
    port = free_port()
    env = bot_env(
        url,
        TELEGRAM_TOKEN=double.token,
        TELEGRAM_API_BASE=double.base_url,
        TELEGRAM_MODE="polling",
        HTTP_PORT=str(port),
    )
    log = folder / "poruch.log"
    profile = folder / "poruch.prof"
    profiling = os.environ.get("BENCH_PROFILE") == "1"
    args = ["-m", "bot", "run"]
    if profiling:
        args = ["-m", "benchmarks.profiled", str(profile), "run"]
    process = await start(args, env, log)
    try:
        await wait_ready(double, process, log)
        if profiling:
            process.send_signal(signal.SIGUSR1)
        measured = await timed_drive(double, process.pid)
        metrics = await fetch_metrics(port)
    finally:
        await stop(process)
    top = ""
    if profiling and profile.exists():
        top = profile_summary(profile)
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "throughput-profile.txt").write_text(top, encoding="utf-8")
    return measured, metrics, top


AREAS = [
    ("sqlalchemy", "SQLAlchemy (Core + ORM)"),
    ("asyncpg", "asyncpg driver"),
    ("aiosqlite", "aiosqlite driver"),
    ("sqlite3", "sqlite3"),
    ("aiogram", "aiogram"),
    ("pydantic", "pydantic (aiogram types)"),
    ("aiohttp", "aiohttp (HTTP client/server)"),
    ("apscheduler", "APScheduler"),
    ("babel", "Babel / gettext"),
    ("gettext", "Babel / gettext"),
    ("/bot/engine/", "our engine"),
    ("/bot/delivery/", "our outbox worker"),
    ("/bot/services/", "our services"),
    ("/dialogs/", "our dialogs"),
    ("/handlers/", "our Telegram adapter"),
    ("/storage/", "our storage"),
    ("asyncio", "asyncio event loop"),
    ("json", "json"),
]


def profile_summary(path: Path) -> str:
    """Own CPU time (tottime) by library, then the busiest functions."""
    stats = pstats.Stats(str(path))
    by_area: dict[str, float] = {}
    total = 0.0
    for (filename, _line, name), row in stats.stats.items():  # type: ignore[attr-defined]
        own = row[2]
        total += own
        where = filename if filename != "~" else name
        area = next((label for key, label in AREAS if key in where), "other")
        by_area[area] = by_area.get(area, 0.0) + own
    idle = sum(row[2] for (f, _l, n), row in stats.stats.items() if "poll" in n and "epoll" in n)  # type: ignore[attr-defined]
    lines = [f"own time {total:.1f} s, of which waiting in epoll {idle:.1f} s", ""]
    for area, seconds in sorted(by_area.items(), key=lambda item: -item[1]):
        lines.append(f"{seconds:8.2f} s  {100 * seconds / max(total, 1e-9):5.1f} %  {area}")
    out = io.StringIO()
    pstats.Stats(str(path), stream=out).sort_stats("tottime").print_stats(40)
    return "\n".join(lines) + "\n\n" + out.getvalue()


def metric(metrics: dict[str, float], prefix: str) -> float:
    return sum(v for k, v in metrics.items() if k.startswith(prefix))


async def run() -> list[Result]:
    url = postgres_url()
    label = "PostgreSQL" if url else "SQLite"
    double = await BenchDouble(poll_cap=POLLING_CAP).start()
    try:
        with tempfile.TemporaryDirectory(prefix="poruch-bench-") as tmp:
            folder = Path(tmp)
            if url is None:
                url = f"sqlite+aiosqlite:///{folder}/bench.sqlite3"
            echo = await measure_echo(double, folder)
            ours, metrics, _ = await measure_poruch(double, url, folder)
    finally:
        await double.stop()
    ratio = ours.rate / echo.rate
    errors = metric(metrics, "poruch_dialog_errors_total")
    handled = metric(metrics, "poruch_updates_total")
    details = {
        "people": PEOPLE,
        "updates": ours.updates,
        "database": label,
        "poruch": {
            "seconds": round(ours.seconds, 2),
            "cpu_seconds": round(ours.cpu, 2),
            "cpu_ms_per_update": round(ours.cpu_ms_per_update, 2),
            "stalls": ours.stalls,
            "kinds": ours.kinds,
            "messages_sent": ours.messages,
            "api_calls": ours.api_calls,
            "engine_events": handled,
            "dialog_errors": errors,
            "engine_seconds_total": round(metric(metrics, "poruch_handler_seconds_sum"), 2),
        },
        "echo": {
            "seconds": round(echo.seconds, 2),
            "cpu_seconds": round(echo.cpu, 2),
            "cpu_ms_per_update": round(echo.cpu_ms_per_update, 2),
            "stalls": echo.stalls,
            "kinds": echo.kinds,
            "messages_sent": echo.messages,
            "api_calls": echo.api_calls,
        },
    }
    return [
        Result("telegram updates/s, echo bot", echo.rate, "upd/s", details=details["echo"]),  # type: ignore[arg-type]
        Result(f"telegram updates/s, Poruch ({label})", ours.rate, "upd/s", details=details),
        Result(
            "telegram throughput ratio Poruch/echo",
            ratio,
            "ratio",
            f">= {GOAL}",
            ratio >= GOAL,
            {"stalls": ours.stalls, "dialog_errors": errors},
        ),
    ]
