"""A fake messaging platform and helpers for the outbox worker and announcement tests.

`FakePlatform` is a platform, not a mock of our code: it implements the
`Messenger` protocol the way a messenger's servers behave — it records when
each call arrived and who got what, and can be scripted to answer "too many
requests", "blocked" or a transient error for chosen people.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select

from bot.app import App
from bot.delivery import DeliveryResult, Outcome
from bot.delivery.worker import OutboxWorker
from bot.engine.events import Reply
from bot.lifecycle import build_worker
from bot.services.broadcast import Audience, Draft, counts, create, reach
from storage.models import OutboxMessage, Person
from storage.models.broadcast import Announcement

SENT = DeliveryResult(Outcome.SENT)


class FakePlatform:
    def __init__(self, platform: str = "telegram", *, max_batch: int = 1) -> None:
        self.platform = platform
        self.max_batch = max_batch
        #: (monotonic time the call arrived, receivers) for every call
        self.calls: list[tuple[float, list[str]]] = []
        #: user id → texts received
        self.received: dict[str, list[str]] = defaultdict(list)
        #: scripted answers per user id, used first-in first-out, then SENT
        self.script: dict[str, deque[DeliveryResult]] = defaultdict(deque)
        #: called with the number of calls so far, after each call arrives
        self.on_call: Callable[[int], None] | None = None
        #: when each "too many requests" answer left the platform
        self.limited_at: list[float] = []

    def answer(self, user_id: str, *results: DeliveryResult) -> None:
        self.script[user_id].extend(results)

    def _outcome(self, user_id: str) -> DeliveryResult:
        return self.script[user_id].popleft() if self.script[user_id] else SENT

    def _arrived(self, user_ids: list[str]) -> None:
        self.calls.append((time.monotonic(), user_ids))
        if self.on_call is not None:
            self.on_call(len(self.calls))

    async def deliver(self, user_id: str, replies: Sequence[Reply]) -> DeliveryResult:
        self._arrived([user_id])
        result = self._outcome(user_id)
        await asyncio.sleep(0)  # the network
        if result.outcome is Outcome.RATE_LIMITED:
            self.limited_at.append(time.monotonic())
        if result.ok:
            self.received[user_id].extend(r.full_text() for r in replies)
        return result

    async def deliver_many(
        self, user_ids: Sequence[str], reply: Reply
    ) -> dict[str, DeliveryResult]:
        assert len(user_ids) <= self.max_batch
        self._arrived(list(user_ids))
        results = {user_id: self._outcome(user_id) for user_id in user_ids}
        await asyncio.sleep(0)
        for user_id, result in results.items():
            if result.ok:
                self.received[user_id].append(reply.full_text())
        return results

    @property
    def sends(self) -> int:
        return sum(len(texts) for texts in self.received.values())


def max_in_any_window(stamps: Sequence[float], window: float = 1.0) -> int:
    """The largest number of stamps inside any half-open interval [t, t + window)."""
    ordered = sorted(stamps)
    best, start = 0, 0
    for end, stamp in enumerate(ordered):
        while ordered[start] <= stamp - window:
            start += 1
        best = max(best, end - start + 1)
    return best


async def add_people(
    app: App,
    n: int,
    *,
    platform: str = "telegram",
    first: int = 1,
    locale: str | None = "uk",
    region: str | None = None,
    last_seen: datetime | None = None,
    consented: bool = True,
) -> list[int]:
    now = datetime(2026, 11, 1, tzinfo=UTC)
    rows = [
        {
            "platform": platform,
            "platform_user_id": str(first + i),
            "locale": locale,
            "region": region,
            "consent_at": now if consented else None,
            "privacy_version": 1 if consented else None,
            "reachable": True,
            "subscribed": True,
            "announcements": True,
            "created_at": now,
            "last_seen_at": last_seen or now,
        }
        for i in range(n)
    ]
    async with app.db.transaction() as session:
        for start in range(0, len(rows), 500):
            await session.execute(insert(Person), rows[start : start + 500])
        ids = await session.scalars(
            select(Person.id).where(Person.platform == platform).order_by(Person.id).offset(0)
        )
        return list(ids)[-n:]


async def announce(
    app: App,
    *,
    text_uk: str = "Виплати 5 грудня",
    text_en: str = "Payments on 5 December",
    audience: str = "all",
    author: str = "cli",
    author_person_id: int | None = None,
    scheduled_at: datetime | None = None,
) -> int:
    draft = Draft.of(text_uk, text_en, Audience.parse(audience))
    now = app.runtime.now()
    async with app.db.transaction() as session:
        estimate = await reach(
            session, draft.audience, default_locale="uk", viber_price=0.0196, now=now
        )
        announcement = await create(
            session,
            draft,
            author=author,
            author_person_id=author_person_id,
            now=now,
            default_locale="uk",
            reach=estimate,
            scheduled_at=scheduled_at,
        )
        return announcement.id


async def wait_until(check: Callable[[], object], limit: float = 20.0) -> None:
    deadline = time.monotonic() + limit
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        await asyncio.sleep(0.02)


async def remaining(app: App, announcement_id: int) -> int:
    # A read, polled while the worker runs: it must not take the writer's turn (SQLite)
    # from the worker it watches, as a transaction would every 20 ms.
    async with app.db.sessions() as session:
        return (await counts(session, announcement_id)).remaining


async def announcement(app: App, announcement_id: int) -> Announcement:
    async with app.db.transaction() as session:
        found = await session.get(Announcement, announcement_id)
        assert found is not None
        return found


async def outbox_rows(app: App, **where: object) -> list[OutboxMessage]:
    async with app.db.transaction() as session:
        statement = select(OutboxMessage).order_by(OutboxMessage.id)
        for name, value in where.items():
            statement = statement.where(getattr(OutboxMessage, name) == value)
        return list(await session.scalars(statement))


class RunningWorker:
    """A worker task for a test: `async with RunningWorker(app) as worker: …`."""

    def __init__(self, app: App, **options: object) -> None:
        options.setdefault("poll_seconds", 0.05)
        self.worker = build_worker(app)
        for name, value in options.items():  # poll_seconds, lease, batch_rows
            setattr(self.worker, name, value)
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> OutboxWorker:
        self.task = asyncio.create_task(self.worker.run())
        return self.worker

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
            self.task = None

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


def later(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)
