"""The optional registry connector against a loopback double: up, slow, down, broken."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import date, timedelta

import pytest

from bot.app import App, build_app
from bot.resources import Resources
from bot.services.status.lookup import Guesser, Outcome, lookup, number_key
from bot.services.status.numbers import ApplicationNumber, parse_number
from bot.services.status.poller import refresh_followed
from bot.services.status.registry import (
    CircuitBreaker,
    RegistryClient,
    RegistryUnavailable,
)
from handlers.conversation import Conversation
from storage.models.status import StatusChange
from tests.conftest import Clock, make_settings, onboard
from tests.doubles.registry_api import RegistryDouble
from tests.status_support import DEMO_ROWS, count, csv_text, import_csv, outbox, person
from tests.test_status_import import follow


async def refresh(app: App) -> int:
    return await refresh_followed(
        app.db,
        Resources.of(app.runtime.resources).registry,
        clock=app.runtime.now,
        default_locale=app.settings.default_locale,
    )


def _number(raw: str) -> ApplicationNumber:
    number = parse_number(raw)
    assert number is not None
    return number


NUMBER = _number("VPO-2026-000123")
BORN = date(1984, 3, 15)


@pytest.fixture
async def registry() -> AsyncIterator[RegistryDouble]:
    async with RegistryDouble() as double:
        double.add("VPO-2026-000123", "1984-03-15", "approved", "2026-11-23T09:00:00+02:00")
        yield double


def fast_client(url: str, clock: Callable[..., object], **overrides: float) -> RegistryClient:
    """Real timeouts scaled down so the tests stay fast; same logic as production."""
    values: dict[str, float] = {"timeout": 0.3, "backoff": 0.01, "budget": 1.0}
    values.update(overrides)
    return RegistryClient(url, clock=clock, **values)  # type: ignore[arg-type]


async def test_up_returns_the_record(registry: RegistryDouble, clock: Clock) -> None:
    client = fast_client(registry.url, clock)
    record = await client.fetch(NUMBER, BORN)
    assert record is not None and record.status == "approved"
    assert registry.requests == [{"number": "VPO-2026-000123", "birth_date": "1984-03-15"}]
    assert await client.fetch(NUMBER, date(1984, 3, 16)) is None  # mismatch: 404


async def test_slow_times_out_and_retries(registry: RegistryDouble, clock: Clock) -> None:
    registry.mode, registry.delay = "slow", 1.0
    client = fast_client(registry.url, clock, timeout=0.1, retries=2)
    with pytest.raises(RegistryUnavailable):
        await client.fetch(NUMBER, BORN)
    assert len(registry.requests) == 3  # first try + two retries
    registry.delay = 0.01  # slow but within the timeout: fine
    assert await client.fetch(NUMBER, BORN) is not None


async def test_retries_stop_within_the_budget(registry: RegistryDouble, clock: Clock) -> None:
    """A retry whose wait would end past the budget is not made: the person is not held up."""
    registry.mode = "down"
    client = fast_client(registry.url, clock, retries=5, backoff=0.2, budget=0.5)
    started = asyncio.get_running_loop().time()
    with pytest.raises(RegistryUnavailable, match="HTTP 5"):
        await client.fetch(NUMBER, BORN)
    assert asyncio.get_running_loop().time() - started < 0.5
    assert len(registry.requests) == 2  # waits 0.2 s once; another 0.4 s would end past 0.5 s


async def test_down_opens_the_circuit_then_tries_again_later(
    registry: RegistryDouble, clock: Clock
) -> None:
    registry.mode = "down"
    client = fast_client(registry.url, clock, retries=1)
    for _ in range(3):
        with pytest.raises(RegistryUnavailable):
            await client.fetch(NUMBER, BORN)
    assert len(registry.requests) == 6 and client.breaker.is_open
    with pytest.raises(RegistryUnavailable, match="circuit open"):
        await client.fetch(NUMBER, BORN)
    assert len(registry.requests) == 6  # not called while open

    registry.mode = "up"
    clock.advance(seconds=31)
    assert await client.fetch(NUMBER, BORN) is not None  # the trial call closes it
    assert not client.breaker.is_open


async def test_unreachable_and_broken_are_unavailable(
    registry: RegistryDouble, clock: Clock
) -> None:
    registry.mode = "broken"  # an HTML error page from a proxy
    with pytest.raises(RegistryUnavailable):
        await fast_client(registry.url, clock).fetch(NUMBER, BORN)
    url = registry.url
    await registry.stop()
    with pytest.raises(RegistryUnavailable):
        await fast_client(url, clock, retries=1).fetch(NUMBER, BORN)


def test_breaker_counts_consecutive_failures(clock: Clock) -> None:
    breaker = CircuitBreaker(clock=clock, threshold=2)
    breaker.failed()
    breaker.succeeded()
    breaker.failed()
    assert breaker.allow()
    breaker.failed()
    assert not breaker.allow()


async def test_registry_record_updates_the_saved_copy_and_notifies(
    registry: RegistryDouble, app: App, clock: Clock
) -> None:
    await import_csv(app, csv_text(*DEMO_ROWS))  # saved copy: in_review
    follower = await person(app, "1", "en")
    asker = await person(app, "2", "en")
    await follow(app, follower, "VPO2026000123")
    client = fast_client(registry.url, clock)
    async with app.db.transaction() as session:
        result = await lookup(
            session,
            guesser=Guesser(f"asker-{asker}"),
            number=NUMBER,
            number_hash=number_key(app.settings, NUMBER),
            birth_date=BORN,
            now=clock(),
            default_locale="uk",
            registry=client,
        )
    assert result.outcome is Outcome.FOUND and result.as_of is None
    assert result.application is not None and result.application.status == "approved"
    assert [row.person_id for row in await outbox(app)] == [follower]
    assert await count(app, StatusChange) == 3

    registry.mode = "down"
    clock.advance(hours=2)
    async with app.db.transaction() as session:
        stale = await lookup(
            session,
            guesser=Guesser(f"asker-{asker}"),
            number=NUMBER,
            number_hash=number_key(app.settings, NUMBER),
            birth_date=BORN,
            now=clock(),
            default_locale="uk",
            registry=client,
        )
        unknown = await lookup(
            session,
            guesser=Guesser(f"asker-{asker}"),
            number=NUMBER,
            number_hash=number_key(app.settings, NUMBER),
            birth_date=date(1984, 3, 16),
            now=clock(),
            default_locale="uk",
            registry=client,
        )
    assert stale.outcome is Outcome.FOUND
    assert stale.as_of == clock() - timedelta(hours=2)  # when the registry last answered
    assert unknown.outcome is Outcome.UNAVAILABLE  # no guess is counted against the person


async def test_dialog_shows_last_known_status_when_the_registry_is_down(
    registry: RegistryDouble, sqlite_url: str, clock: Clock
) -> None:
    app = await build_app(
        make_settings(sqlite_url, registry_url=registry.url), migrate=False, clock=clock
    )
    try:
        await import_csv(app, csv_text(*DEMO_ROWS))
        client = Resources.of(app.runtime.resources).registry
        assert client is not None and client.timeout == 3.0  # the production default
        app.runtime.resources = replace(
            Resources.of(app.runtime.resources), registry=fast_client(registry.url, clock)
        )
        chat = Conversation(app.engine, user_id="1")
        await onboard(chat, "en")
        await chat.presses("application status")
        await chat.says("VPO-2026-000123")
        await chat.says("15.03.1984")
        chat.expect("Status: Approved")  # live from the registry
        chat.expect_not("not answering")

        registry.mode = "down"
        await chat.presses("Check another application")
        await chat.says("VPO-2026-000123")
        await chat.says("15.03.1984")
        chat.expect(
            "registry is not answering",
            "last known status, as of 24 November 2026, 12:00",
            "Status: Approved",
        )
        await chat.presses("Check another application")
        await chat.says("VPO-2026-000124")
        await chat.says("01.01.1990")  # no saved match: cannot tell, so no failure counted
        chat.expect("registry is not answering right now. Please try again")
    finally:
        await app.close()


async def test_poller_brings_registry_changes_to_followers(
    registry: RegistryDouble, sqlite_url: str, clock: Clock
) -> None:
    app = await build_app(
        make_settings(sqlite_url, registry_url=registry.url), migrate=False, clock=clock
    )
    try:
        await import_csv(app, csv_text(*DEMO_ROWS))
        app.runtime.resources = replace(
            Resources.of(app.runtime.resources), registry=fast_client(registry.url, clock)
        )
        follower = await person(app, "1", "uk")
        await follow(app, follower, "VPO2026000123")
        assert await refresh(app) == 1  # in_review → approved in the registry
        assert await refresh(app) == 0  # nothing new: nothing sent twice
        (row,) = await outbox(app)
        assert row.person_id == follower and "Призначено" in row.body[0]["text"]

        registry.mode = "down"
        assert await refresh(app) == 0
        assert len(await outbox(app)) == 1
    finally:
        await app.close()
