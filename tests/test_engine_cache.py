"""The person and state kept between updates (storage/hot.py `HotCache`) are never
served once someone else changed them: a state written by another process fails the
version check and the update is handled again on fresh rows; a person's row written
by this process is forgotten at that commit, one written by another process is read
again after the time limit; an erased person is dropped.

Another process is a second app on the same database (its own `Database`, its own
cache). Runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from bot.app import App
from bot.engine import Context, Dialog, Incoming, Kind, Step
from bot.services.personal_data import erase_person
from bot.services.reachability import StoredReachability
from handlers.conversation import Conversation
from storage.hot import CACHE_SECONDS, Cached, HotCache
from storage.models import DialogStateRow, Person
from storage.repositories import People, StoredState
from tests.conftest import onboard


def recording_dialog() -> Dialog:
    """`contacts` replaced by a step that remembers every text it was given."""
    dialog = Dialog("contacts")

    @dialog.step("ask")
    class Ask(Step):
        async def show(self, ctx: Context) -> None:
            ctx.ask("Type anything")

        async def handle(self, ctx: Context, incoming: Incoming) -> None:
            ctx.data["seen"] = [*ctx.data.get("seen", []), incoming.text]
            ctx.say(f"seen {len(ctx.data['seen'])}: {incoming.text}")

    return dialog


class Ticks:
    """The cache's monotonic clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def text(user_id: str, said: str, event_id: str) -> Incoming:
    return Incoming("test", user_id, Kind.TEXT, text=said, event_id=event_id)


async def person_row(app: App, user_id: str = "1") -> Person:
    async with app.db.transaction() as session:
        person = await People(session).find("test", user_id)
        assert person is not None
        return person


async def test_a_state_another_process_changed_is_not_served_from_the_cache(
    app: App, second_process: App
) -> None:
    for each in (app, second_process):
        each.engine.dialogs.register(recording_dialog())
    chat = Conversation(app.engine)
    await onboard(chat)
    await chat.presses("Contacts")
    assert len(app.db.hot_cache) == 1  # this process holds the person and their state

    other = await second_process.engine.handle(text("1", "from B", "b"))
    assert other[0].text == "seen 1: from B"
    replies = await app.engine.handle(text("1", "from A", "a"))

    # The cached state (without B's text) failed the version check: handled again on B's,
    # in a batch run again as it ran (no savepoint per event: nothing failed).
    assert replies[0].text == "seen 2: from A"
    assert app.engine.stale_retries == 1
    assert app.engine.careful_batches == 0
    async with app.db.transaction() as session:
        row = (await session.scalars(select(DialogStateRow))).one()
        assert row.data["seen"] == ["from B", "from A"]
    # Someone else writes their state too: read each time for a while, not handled twice.
    assert len(app.db.hot_cache) == 0
    assert (await app.engine.handle(text("1", "again", "c")))[0].text == "seen 3: again"
    assert app.engine.stale_retries == 1
    assert len(app.db.hot_cache) == 0
    await second_process.engine.handle(text("1", "from B again", "d"))
    assert (await app.engine.handle(text("1", "and A", "e")))[0].text == "seen 5: and A"
    assert app.engine.stale_retries == 1


async def test_a_person_marked_unreachable_in_this_process_is_read_again(app: App) -> None:
    chat = Conversation(app.engine)
    await onboard(chat)
    await StoredReachability(app.db).mark_unreachable("test", "1")  # the outbox: blocked
    assert not (await person_row(app)).reachable

    await chat.says("menu")

    assert (await person_row(app)).reachable  # they wrote: reachable again


async def test_a_person_changed_through_an_orm_object_in_this_process_is_read_again(
    app: App,
) -> None:
    """Viber's subscription callback and api_version change the person's object."""
    chat = Conversation(app.engine)
    await onboard(chat)
    async with app.db.transaction() as session:
        person = await People(session).find("test", "1")
        assert person is not None
        person.subscribed = False
    assert len(app.db.hot_cache) == 0

    await chat.says("menu")

    assert (await person_row(app)).subscribed


async def test_a_person_another_process_changed_is_read_again_after_the_time_limit(
    app: App, second_process: App
) -> None:
    ticks = Ticks()
    app.db.hot_cache.clock = ticks
    chat = Conversation(app.engine)
    await onboard(chat)
    await StoredReachability(second_process.db).mark_unreachable("test", "1")

    await chat.says("menu")  # within the limit: this process cannot know
    hits = app.db.hot_cache.hits
    ticks.now += CACHE_SECONDS
    await chat.says("menu")

    assert app.db.hot_cache.hits == hits  # read from the database, not the cache
    assert (await person_row(app)).reachable


async def test_a_person_read_again_within_the_limit_keeps_the_first_reads_time(
    app: App,
) -> None:
    """Every update re-validates the state, not the person: the limit counts from the
    read, however often they write."""
    ticks = Ticks()
    app.db.hot_cache.clock = ticks
    chat = Conversation(app.engine)
    await onboard(chat)
    misses = app.db.hot_cache.misses
    for _ in range(2):
        ticks.now += CACHE_SECONDS / 3
        await chat.says("menu")
    assert app.db.hot_cache.misses == misses
    ticks.now += CACHE_SECONDS / 3
    await chat.says("menu")
    assert app.db.hot_cache.misses == misses + 1


async def test_erasure_in_a_dialog_drops_the_person_from_the_cache(app: App) -> None:
    chat = Conversation(app.engine)
    await onboard(chat)
    await chat.presses("My data")
    await chat.presses("Delete my data")
    await chat.presses("Yes, delete everything")
    assert len(app.db.hot_cache) == 0

    await chat.says("hello")

    assert app.engine.stale_retries == 0
    chat.expect("choose your language")  # first contact again


async def test_erasure_elsewhere_in_the_process_drops_the_person_from_the_cache(
    app: App,
) -> None:
    chat = Conversation(app.engine)
    await onboard(chat)
    assert len(app.db.hot_cache) == 1
    async with app.db.transaction() as session:  # the retention sweep, a staff action
        person = await People(session).find("test", "1")
        assert person is not None
        await erase_person(session, person, app.runtime.personal_data)
    assert len(app.db.hot_cache) == 0

    await chat.says("hello")

    assert app.engine.stale_retries == 0
    chat.expect("choose your language")


async def test_a_write_that_rolled_back_does_not_empty_the_cache(app: App) -> None:
    chat = Conversation(app.engine)
    await onboard(chat)
    with pytest.raises(RuntimeError):
        async with app.db.transaction() as session:
            await session.execute(update(Person).values(reachable=False))
            raise RuntimeError("changed its mind")
    assert len(app.db.hot_cache) == 1


def cached(person_id: int, read_at: float = 0.0) -> Cached:
    person = Person(id=person_id, platform="test", platform_user_id=str(person_id))
    return Cached(person, StoredState(dialog="menu", step="main", version=1), read_at)


def test_what_was_read_before_a_commit_that_wrote_the_person_is_not_kept() -> None:
    """A batch that read someone, then another session's commit wrote them, then the
    batch committed: what the batch read predates that write."""
    cache = HotCache(clock=lambda: 0.0)
    since = cache.mark()
    cache.forget([1])
    cache.put("test", "1", cached(1), since)
    cache.put("test", "2", cached(2), since)
    assert cache.take("test", "1") is None
    assert cache.take("test", "2") is not None
    since = cache.mark()
    cache.forget(None)  # a bulk statement: anyone
    cache.put("test", "2", cached(2), since)
    assert cache.take("test", "2") is None


def test_the_cache_keeps_the_most_recently_handled_people_up_to_its_size() -> None:
    cache = HotCache(size=3, clock=lambda: 0.0)
    for n in range(5):
        cache.put("test", str(n), cached(n), cache.mark())
    assert len(cache) == 3
    assert [cache.take("test", str(n)) is not None for n in range(5)] == [False, False] + [
        True
    ] * 3
    cache.put("test", "7", cached(7), cache.mark())
    cache.forget([7])
    assert len(cache) == 0


def test_people_who_stopped_writing_leave_the_cache() -> None:
    ticks = Ticks()
    cache = HotCache(clock=ticks)
    cache.put("test", "1", cached(1, read_at=ticks.now), cache.mark())
    ticks.now += CACHE_SECONDS
    cache.put("test", "2", cached(2, read_at=ticks.now), cache.mark())
    assert len(cache) == 1


def test_a_person_whose_state_another_worker_writes_is_not_kept_for_a_while() -> None:
    ticks = Ticks()
    cache = HotCache(clock=ticks)
    cache.shared(1)
    cache.put("test", "1", cached(1, read_at=ticks.now), cache.mark())
    assert len(cache) == 0
    ticks.now += CACHE_SECONDS
    cache.put("test", "1", cached(1, read_at=ticks.now), cache.mark())
    assert len(cache) == 1
