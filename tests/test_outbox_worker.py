"""The outbox worker against a fake platform, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import Any

import pytest
from sqlalchemy import update

from bot.app import App, build_app
from bot.delivery import DeliveryResult, Outcome, enqueue
from bot.delivery.ratelimit import SlidingWindowLimiter
from bot.delivery.worker import LEASE, MAX_ATTEMPTS, results_counter
from bot.engine.events import Reply
from bot.lifecycle import build_worker
from bot.services.broadcast import cancel
from storage.models import Person
from tests.broadcast_support import (
    FakePlatform,
    RunningWorker,
    add_people,
    announce,
    announcement,
    max_in_any_window,
    outbox_rows,
    remaining,
    wait_until,
)
from tests.conftest import Clock, make_settings

AppFactory = Callable[..., Any]


@pytest.fixture
async def apps(db_url: str) -> AsyncIterator[AppFactory]:
    """Apps on the test database; several may share it (processes after a restart)."""
    built: list[App] = []

    async def make(clock: Clock | None = None, **settings: Any) -> App:
        options: dict[str, Any] = {"migrate": False}
        if clock is not None:
            options["clock"] = clock
        app = await build_app(make_settings(db_url, **settings), **options)
        built.append(app)
        return app

    yield make
    for app in built:
        await app.close()


def with_platform(app: App, platform: FakePlatform) -> FakePlatform:
    app.messengers.add(platform)
    return platform


async def test_five_thousand_recipients_exactly_once_never_over_the_limit(
    apps: AppFactory,
) -> None:
    app = await apps(telegram_rate_limit=2000)
    telegram = with_platform(app, FakePlatform("telegram"))
    await add_people(app, 5000)
    announcement_id = await announce(app)

    async with RunningWorker(app):
        await wait_until(lambda: remaining(app, announcement_id), limit=60)
        await wait_until(lambda: _not(remaining(app, announcement_id)), limit=60)

    assert len(telegram.received) == 5000
    assert all(len(texts) == 1 for texts in telegram.received.values())
    assert max_in_any_window([at for at, _ in telegram.calls]) <= 2000
    done = await announcement(app, announcement_id)
    assert (done.state, done.recipients, done.sent) == ("done", 5000, 5000)
    assert results_counter(app.metrics).labels("telegram", "sent")._value.get() == 5000


async def _not(value: Any) -> bool:
    return not await value


async def test_a_new_process_resumes_a_killed_delivery_without_duplicates(
    apps: AppFactory,
) -> None:
    first = await apps(telegram_rate_limit=400)
    platform_1 = with_platform(first, FakePlatform("telegram"))
    await add_people(first, 900)
    announcement_id = await announce(first)
    halfway = asyncio.Event()
    platform_1.on_call = lambda n: halfway.set() if n >= 300 else None

    running = RunningWorker(first)
    async with running:
        await halfway.wait()
        await running.stop()  # the process is killed mid-way
    await first.close()
    sent_before = set(platform_1.received)
    assert 300 <= len(sent_before) < 900

    second = await apps(telegram_rate_limit=400)
    platform_2 = with_platform(second, FakePlatform("telegram"))
    async with RunningWorker(second):
        await wait_until(lambda: _not(remaining(second, announcement_id)))

    everyone = Counter(list(platform_1.received) + list(platform_2.received))
    assert len(everyone) == 900
    assert set(everyone.values()) == {1}, "somebody got the announcement twice"
    assert (await announcement(second, announcement_id)).sent == 900


async def test_rows_of_a_process_that_died_after_claiming_are_reclaimed_after_the_lease(
    apps: AppFactory, clock: Clock
) -> None:
    app = await apps(clock)
    await add_people(app, 20)
    announcement_id = await announce(app)
    crashed = build_worker(app)
    claimed = await crashed.claim("telegram", 20)  # …and the process dies holding them
    assert len(claimed) == 20

    telegram = with_platform(app, FakePlatform("telegram"))
    async with RunningWorker(app) as worker:
        await worker.idle()
        assert telegram.sends == 0, "a live lease must not be taken over"
        clock.advance(seconds=LEASE.total_seconds() + 1)
        worker.wake()
        await wait_until(lambda: _not(remaining(app, announcement_id)))
    assert telegram.sends == 20


async def test_two_workers_on_one_database_never_send_a_row_twice(apps: AppFactory) -> None:
    one, two = await apps(telegram_rate_limit=1000), await apps(telegram_rate_limit=1000)
    platform_1 = with_platform(one, FakePlatform("telegram"))
    platform_2 = with_platform(two, FakePlatform("telegram"))
    await add_people(one, 1500)
    announcement_id = await announce(one)

    async with RunningWorker(one, batch_rows=50), RunningWorker(two, batch_rows=50):
        await wait_until(lambda: _not(remaining(one, announcement_id)))

    everyone = Counter(list(platform_1.received) + list(platform_2.received))
    assert len(everyone) == 1500
    assert set(everyone.values()) == {1}
    assert platform_1.sends and platform_2.sends, "both workers should have taken a share"


async def test_429_pauses_the_platform_for_retry_after_and_retries(apps: AppFactory) -> None:
    app = await apps()  # real time: the retry becomes due after retry_after
    telegram = with_platform(app, FakePlatform("telegram"))
    await add_people(app, 10)
    telegram.answer("3", DeliveryResult(Outcome.RATE_LIMITED, retry_after=0.4, reason="429"))
    announcement_id = await announce(app)

    async with RunningWorker(app):
        await wait_until(lambda: _not(remaining(app, announcement_id)))

    assert {user: len(texts) for user, texts in telegram.received.items()} == {
        str(i): 1 for i in range(1, 11)
    }
    # Calls already on their way when the 429 came back cannot be stopped; every later one waits.
    (limited_at,) = telegram.limited_at
    after = [at for at, _ in telegram.calls if at > limited_at]
    assert after and min(after) >= limited_at + 0.4, "nobody may be sent to during the pause"
    (row,) = [r for r in await outbox_rows(app) if r.dedupe_key.endswith(":3")]
    assert (row.state, row.attempts) == ("sent", 1)


async def test_403_marks_the_person_and_later_announcements_leave_them_out(
    apps: AppFactory,
) -> None:
    app = await apps()
    telegram = with_platform(app, FakePlatform("telegram"))
    viber = with_platform(app, FakePlatform("viber", max_batch=300))
    await add_people(app, 3)
    await add_people(app, 3, platform="viber", first=100)
    telegram.answer("2", DeliveryResult(Outcome.BLOCKED, reason="forbidden: blocked"))
    viber.answer("101", DeliveryResult(Outcome.BLOCKED, reason="viber:6"))
    first_id = await announce(app)

    async with RunningWorker(app):
        await wait_until(lambda: _not(remaining(app, first_id)))
        first = await announcement(app, first_id)
        assert (first.sent, first.blocked) == (4, 2)
        async with app.db.transaction() as session:
            blocked = await session.get(Person, 2)
            unsubscribed = await session.get(Person, 5)
            assert blocked is not None and unsubscribed is not None
            assert (blocked.reachable, unsubscribed.subscribed) == (False, False)

        second_id = await announce(app)
        await wait_until(lambda: _not(remaining(app, second_id)))
    assert (await announcement(app, second_id)).recipients == 4
    assert "2" not in telegram.received or len(telegram.received["2"]) == 0
    assert len(viber.received["100"]) == 2 and "101" not in viber.received


async def test_transient_errors_back_off_then_fail_with_the_reason(
    apps: AppFactory, clock: Clock
) -> None:
    app = await apps(clock)
    telegram = with_platform(app, FakePlatform("telegram"))
    (person_id,) = await add_people(app, 1)
    failure = DeliveryResult(Outcome.TRANSIENT, reason="telegram:502")
    telegram.answer("1", *[failure] * MAX_ATTEMPTS)
    async with app.db.transaction() as session:
        await enqueue(
            session,
            person_id=person_id,
            kind="status",
            dedupe_key="status:1:1",
            replies=Reply(text="Your application was approved"),
            not_before=clock(),
        )

    async with RunningWorker(app) as worker:
        for attempt in range(1, MAX_ATTEMPTS):
            await wait_until(partial(_attempts_are, app, attempt))
            (row,) = await outbox_rows(app)
            assert row.state == "pending" and row.not_before > clock(), "backs off"
            clock.advance(hours=1)
            worker.wake()
        await wait_until(lambda: _state_is(app, "failed"))
    (row,) = await outbox_rows(app)
    assert (row.attempts, row.reason) == (MAX_ATTEMPTS, "telegram:502")
    assert len(telegram.calls) == MAX_ATTEMPTS and not telegram.received


async def _attempts_are(app: App, attempts: int) -> bool:
    rows = await outbox_rows(app)
    return rows[0].attempts == attempts and rows[0].state == "pending"


async def _state_is(app: App, state: str) -> bool:
    return (await outbox_rows(app))[0].state == state


async def test_opted_out_at_send_time_is_skipped_and_cancelled_is_not_sent(
    apps: AppFactory,
) -> None:
    app = await apps()
    await add_people(app, 4)
    skipped_id = await announce(app)
    cancelled_id = await announce(app, text_uk="Скасовано", text_en="Cancelled")
    async with app.db.transaction() as session:
        await session.execute(update(Person).where(Person.id == 1).values(announcements=False))
        await cancel(session, cancelled_id, actor="cli", now=app.runtime.now())

    telegram = with_platform(app, FakePlatform("telegram"))
    async with RunningWorker(app):
        await wait_until(lambda: _not(remaining(app, skipped_id)))
    assert sorted(telegram.received) == ["2", "3", "4"]
    assert all(len(texts) == 1 for texts in telegram.received.values())
    done = await announcement(app, skipped_id)
    assert (done.sent, done.skipped) == (3, 1)
    stopped = await announcement(app, cancelled_id)
    assert (stopped.state, stopped.cancelled, stopped.sent) == ("cancelled", 4, 0)


async def test_status_messages_still_reach_people_who_switched_announcements_off(
    apps: AppFactory,
) -> None:
    app = await apps()
    (person_id,) = await add_people(app, 1)
    async with app.db.transaction() as session:
        await session.execute(update(Person).values(announcements=False))
        await enqueue(
            session,
            person_id=person_id,
            kind="status",
            dedupe_key="status:7:1",
            replies=[Reply(text="Approved"), Reply(text="Details")],
            not_before=app.runtime.now(),
        )
    telegram = with_platform(app, FakePlatform("telegram"))
    async with RunningWorker(app):
        await wait_until(lambda: _state_is(app, "sent"))
    assert telegram.received["1"] == ["Approved", "Details"]


async def test_viber_announcements_go_out_as_broadcasts_of_at_most_300(
    apps: AppFactory,
) -> None:
    app = await apps(viber_rate_limit=25)
    viber = with_platform(app, FakePlatform("viber", max_batch=300))
    await add_people(app, 650, platform="viber", locale="uk")
    await add_people(app, 10, platform="viber", first=1000, locale="en")
    announcement_id = await announce(app)
    async with RunningWorker(app):
        await wait_until(lambda: _not(remaining(app, announcement_id)))
    sizes = sorted(len(users) for _, users in viber.calls)
    assert sizes == [10, 50, 300, 300]
    assert viber.sends == 660
    english = next(users for _, users in viber.calls if len(users) == 10)
    assert "Payments on 5 December" in viber.received[english[0]][0]


async def test_rows_for_a_platform_without_a_messenger_wait_for_one(apps: AppFactory) -> None:
    app = await apps()
    await add_people(app, 2)
    await add_people(app, 2, platform="viber", first=50)
    announcement_id = await announce(app)
    telegram = with_platform(app, FakePlatform("telegram"))
    async with RunningWorker(app) as worker:
        await wait_until(lambda: telegram.sends == 2)
        await worker.idle()
    rows = await outbox_rows(app, state="pending")
    assert len(rows) == 2 and await remaining(app, announcement_id) == 2

    viber = with_platform(app, FakePlatform("viber", max_batch=300))
    async with RunningWorker(app):
        await wait_until(lambda: _not(remaining(app, announcement_id)))
    assert viber.sends == 2


async def test_limiter_allows_n_in_any_window_and_pauses() -> None:
    limiter = SlidingWindowLimiter(40, period=0.25)
    stamps: list[float] = []
    loop = asyncio.get_running_loop()
    for _ in range(100):
        ticket = await limiter.acquire()
        stamps.append(loop.time())
        limiter.release(ticket)
    assert max_in_any_window(stamps, window=0.25) <= 40
    limiter.pause(0.2)
    before = loop.time()
    limiter.release(await limiter.acquire())
    assert loop.time() >= before + 0.2


async def test_limiter_counts_a_slow_send_until_it_completed() -> None:
    """A send that arrives late at the platform must not share a window with the next one."""
    now = [0.0]
    limiter = SlidingWindowLimiter(1, period=1.0, clock=lambda: now[0])
    first = await limiter.acquire()
    now[0] = 0.8  # the first send's answer comes back late
    limiter.release(first)
    now[0] = 1.5  # a second after the start, but not after the completion
    waiter = asyncio.create_task(limiter.acquire())
    await asyncio.sleep(0.01)
    assert not waiter.done()
    now[0] = 1.8
    limiter.release(await asyncio.wait_for(waiter, 1))


async def test_limiter_lends_a_place_that_frees_soon_and_holds_the_send_until_then() -> None:
    """The outbox worker commits handed_at while the place it was lent is still taken."""
    now = [0.0]
    limiter = SlidingWindowLimiter(1, period=1.0, clock=lambda: now[0])
    first = await limiter.acquire()
    now[0] = 0.1
    limiter.release(first)  # its place frees at 1.1
    now[0] = 1.0
    second = await asyncio.wait_for(limiter.acquire(ahead=0.2), 1)  # lent at once
    turn = asyncio.create_task(limiter.turn(second))
    await asyncio.sleep(0.01)
    assert not turn.done()
    now[0] = 1.1
    await asyncio.wait_for(turn, 1)
    # Not lent further ahead than asked: the next place frees a second after `second`.
    limiter.release(second)
    waiter = asyncio.create_task(limiter.acquire(ahead=0.2))
    await asyncio.sleep(0.01)
    assert not waiter.done()
    now[0] = 2.0
    await asyncio.wait_for(waiter, 1)


async def test_limiter_lending_ahead_still_allows_n_in_any_window() -> None:
    """Sends that prepare ahead (a commit) and answer late still arrive at most N a window."""
    limiter = SlidingWindowLimiter(10, period=0.2)
    loop = asyncio.get_running_loop()
    arrivals: list[float] = []
    rng = random.Random(5)

    async def send() -> None:
        ticket = await limiter.acquire(ahead=0.05)
        await asyncio.sleep(rng.uniform(0, 0.04))  # handed_at commits
        await limiter.turn(ticket)
        await asyncio.sleep(rng.uniform(0, 0.01))  # on the way to the platform
        arrivals.append(loop.time())
        await asyncio.sleep(rng.uniform(0, 0.01))  # the answer on its way back
        limiter.release(ticket)

    async def sender(count: int) -> None:
        for _ in range(count):
            await send()

    await asyncio.gather(*(sender(6) for _ in range(12)))
    assert len(arrivals) == 72
    assert max_in_any_window(sorted(arrivals), window=0.2) <= 10
