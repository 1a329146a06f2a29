"""Simulated people on Telegram doing what people do with the bot: the realistic mix.

A person starts with /start, picks their language, accepts the privacy notice and
then, from the main menu, takes on one task after another:

- status lookup (35 %): "My application status", the application number typed
  (a number from the demo data, now and then one that does not exist, sometimes
  typed in lower case with spaces), then the birth date typed (mostly the right one);
- booking walk (25 %): service, the location shared (the nearest offices), office,
  day, time, confirm — the whole walk, choices at random so bookings spread over the offices;
- eligibility check (20 %): the questions answered with their buttons, an age or
  an amount typed where one is asked;
- browsing (10 %): offices, contacts, about;
- free text (10 %): something typed at the menu ("привіт", a question);
and on any screen, one time in 12, types something instead of pressing.

A person sends one update, waits for the answer that ends with buttons, reads it and
reacts. The numbers typed come from bot/data/demo/applications.csv (invented, marked
ДЕМО); the simulated people are invented too. Against the echo bot the same people
take the same number of steps (its two buttons, or text), so both bots get the same
count of updates, and the same share of typed text and button presses in spirit.
"""

from __future__ import annotations

import asyncio
import csv
import os
import random
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.double import BenchDouble
from tests.doubles.telegram_api import Sent, TgUser

ANSWER_WAIT = 10.0  # seconds a person waits for an answer before giving up on it
DEMO_CSV = Path(__file__).resolve().parent.parent / "bot" / "data" / "demo" / "applications.csv"
KYIV = (50.4501, 30.5234)

ASKS_NUMBER = re.compile(r"application number|номер заяви", re.IGNORECASE)
ASKS_BIRTH = re.compile(r"date of birth|дату народження", re.IGNORECASE)
STATUS_SHOWN = re.compile(r"^(Application|Заява) DEMO-", re.MULTILINE)
TASKS = (("status", 35), ("booking", 25), ("eligibility", 20), ("browse", 10), ("text", 10))
BROWSE = ("m:office", "m:contacts", "m:about")
#: the booking walk, one button kind per screen, in the order the dialog asks (where a
#: location is asked for, it is shared: the nearest offices)
BOOKING_ROUTE = ("s:", "obl", "ob:", "of:", "d:", "t:", "yes")
FREE_TEXT = ("привіт", "коли буде виплата?", "дякую", "допоможіть", "hello", "ok")
TYPED_ANSWERS = ("67", "45", "12000", "3", "так", "ні")
AVOID = ("m:data", "m:lang", "m:ask", "m:staff")  # erasing data, language, cases: not the mix


def demo_applications() -> list[tuple[str, str]]:
    """(number, birth date as people type it: DD.MM.YYYY) from the demo data."""
    with DEMO_CSV.open(encoding="utf-8") as source:
        rows = list(csv.DictReader(source))
    out = []
    for row in rows:
        year, month, day = row["birth_date"].split("-")
        out.append((row["number"], f"{day}.{month}.{year}"))
    return out


class Pacer:
    """Lets updates go at most `rate` a second in all (open loop: for latency at a set load)."""

    def __init__(self, rate: float) -> None:
        self.interval = 1 / rate
        self.next = time.monotonic()

    async def turn(self) -> None:
        now = time.monotonic()
        at = max(self.next, now)
        self.next = at + self.interval
        if at > now:
            await asyncio.sleep(at - now)


def payload_of(button: dict[str, object]) -> str:
    return str(button.get("callback_data", ""))


def has_kind(payload: str, kind: str) -> bool:
    """`s:…` (or a namespaced `booking.s:…`): the button kind, wherever the dialog puts it."""
    return payload == kind or payload.startswith(kind) or f".{kind}" in payload


@dataclass
class Walker:
    double: BenchDouble
    tg: TgUser
    rng: random.Random
    applications: list[tuple[str, str]]
    language: str = "uk"
    pacer: Pacer | None = None
    latencies: list[float] = field(default_factory=list)
    stalls: int = 0
    sent: int = 0
    kinds: dict[str, int] = field(default_factory=dict)
    tasks: dict[str, int] = field(default_factory=dict)
    #: what the tasks achieved: statuses shown, bookings confirmed
    outcomes: dict[str, int] = field(default_factory=dict)
    task: str = ""
    task_steps: int = 0
    application: tuple[str, str] = ("", "")

    async def walk(self, updates: int) -> None:
        inbox = self.double.inbox(self.tg.id)
        answer: Sent | None = None
        for index in range(updates):
            if self.pacer is not None:
                await self.pacer.turn()
            started = time.monotonic()
            if index == 0:
                await self._text("/start")
            elif answer is None:
                await self._text("/menu")
            else:
                await self._react(answer)
            answer = await self._answer(inbox)
            if answer is not None:
                self.latencies.append(answer.at - started)

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
                print("STALL", self.task, [(m.text[:80], m.markup) for m in last], flush=True)
            return None

    async def _react(self, message: Sent) -> None:
        rng = self.rng
        if os.environ.get("BENCH_DEBUG") == "2":
            shown = [payload_of(b) for b in message.buttons]
            print(self.tg.id, self.task, repr(message.text[:70]), shown, flush=True)
        if STATUS_SHOWN.search(message.text):
            self.outcomes["status shown"] = self.outcomes.get("status shown", 0) + 1
        buttons = [b for b in message.buttons if "callback_data" in b]
        payloads = [payload_of(b) for b in buttons]
        if ASKS_NUMBER.search(message.text):
            self.application = rng.choice(self.applications)
            number = self.application[0]
            roll = rng.random()
            if roll < 0.1:
                number = "DEMO-2026-999999"  # not in the register: "not found"
            elif roll < 0.3:
                number = number.lower().replace("-", " ")
            return await self._text(number)
        if ASKS_BIRTH.search(message.text):
            if not self.application[1]:  # asked again where a walk before this one left off
                self.application = rng.choice(self.applications)
            birth = self.application[1] if rng.random() < 0.85 else "01.01.1970"
            return await self._text(birth)
        if any(p.startswith("lang:") for p in payloads):
            wanted = f"lang:{self.language}"
            return await self._press(wanted if wanted in payloads else payloads[0], message)
        if "agree" in payloads:
            return await self._press("agree", message)
        if payloads and rng.random() < 1 / 12:
            return await self._text(rng.choice(FREE_TEXT))
        if any(p.startswith("m:") for p in payloads):
            return await self._at_menu(payloads, message)
        self.task_steps += 1
        if self.task == "booking" and self.task_steps < 12:
            for kind in BOOKING_ROUTE:
                offered = [p for p in payloads if has_kind(p, kind)]
                if offered:
                    if kind == "yes":
                        self.outcomes["booking confirmed"] = (
                            self.outcomes.get("booking confirmed", 0) + 1
                        )
                    return await self._press(rng.choice(offered), message)
            if message.keyboard:  # "send your location" (Telegram's reply keyboard)
                return await self._location()
        elif self.task == "eligibility" and self.task_steps < 8:
            content = [p for p in payloads if not p.startswith("g:")]
            if content:
                return await self._press(rng.choice(content), message)
            return await self._text(rng.choice(TYPED_ANSWERS))
        # the task is over (or went somewhere unplanned): back to the menu
        if "g:menu" in payloads:
            return await self._press("g:menu", message)
        if payloads and rng.random() < 0.7:  # a screen this walk does not know (the echo's)
            return await self._press(rng.choice(payloads), message)
        return await self._text("/menu")

    async def _at_menu(self, payloads: list[str], message: Sent) -> None:
        rng = self.rng
        self.task = rng.choices([t for t, _ in TASKS], [w for _, w in TASKS])[0]
        self.task_steps = 0
        self.tasks[self.task] = self.tasks.get(self.task, 0) + 1
        wanted = {
            "status": "m:status",
            "booking": "m:book",
            "eligibility": "m:elig",
            "browse": rng.choice(BROWSE),
        }.get(self.task)
        if wanted in payloads:
            return await self._press(wanted, message)
        if self.task == "text":
            return await self._text(rng.choice(FREE_TEXT))
        content = [p for p in payloads if p not in AVOID] or payloads
        return await self._press(rng.choice(content), message)

    async def _text(self, text: str) -> None:
        self._count("text")
        await self.tg.says(text)

    async def _press(self, data: str, message: Sent) -> None:
        self._count("button")
        await self.tg.presses_data(data, message)

    async def _location(self) -> None:
        self._count("location")
        await self.tg.shares_location(*KYIV)

    def _count(self, kind: str) -> None:
        self.sent += 1
        self.kinds[kind] = self.kinds.get(kind, 0) + 1


def people(
    double: BenchDouble, count: int, seed: int, first_id: int, pacer: Pacer | None = None
) -> list[Walker]:
    """`count` invented people, three in four speaking Ukrainian; the same for the same seed."""
    rng = random.Random(seed)
    applications = demo_applications()
    walkers = []
    for i in range(count):
        language = rng.choice(["uk", "uk", "uk", "en"])
        tg = double.user(first_id + i, language_code=language, first_name=f"P{i}")
        walkers.append(
            Walker(
                double,
                tg,
                random.Random(rng.randrange(1 << 30)),
                applications,
                language=language,
                pacer=pacer,
            )
        )
    return walkers
