"""The hot store (storage/hot.py) and the ORM repositories agree, on both databases.

The engine reads and writes `people`, `dialog_states` and `processed_events`
through plain SQL on the hot path and through the ORM everywhere else (recovery,
services, the console). Each test does one operation through one path and reads
the result through the other: a column added to a model or renamed by a migration
that the hot store does not follow fails here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import asdict
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, inspect, select

from storage import hot
from storage.db import Database
from storage.hot import PERSON_COLUMNS, STATE_COLUMNS, HotStore, person_changes
from storage.models import DialogStateRow, Person, ProcessedEvent, UsageEvent
from storage.repositories import DialogStates, People, ProcessedEvents, StoredState
from storage.repositories.dialog_states import StaleStateError

NOW = datetime(2026, 11, 24, 10, 0, 0, 123456, tzinfo=UTC)


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    yield database
    await database.dispose()


def person_values(person: Person) -> dict[str, object]:
    return {name: getattr(person, name) for name in PERSON_COLUMNS}


def test_the_hot_store_reads_every_column_of_the_hot_tables() -> None:
    """A new column must be thought about here: read by the hot path, or knowingly not."""
    assert set(PERSON_COLUMNS) == {c.key for c in inspect(Person).columns}
    not_read = {"person_id", "updated_at"}  # the key, and a time nothing reads back
    assert set(STATE_COLUMNS) | not_read == {c.key for c in inspect(DialogStateRow).columns}
    # What a step may change on the person, the hot store writes (`person_changes`).
    fixed = {"id", "platform", "platform_user_id", "created_at"}
    assert set(PERSON_COLUMNS) - fixed == hot._CHANGEABLE


async def test_a_person_registered_by_either_path_reads_the_same_through_both(
    db: Database,
) -> None:
    async with db.transaction() as session:
        hot = await HotStore.open(session)
        await hot.register("telegram", "1", NOW)
        await hot.register("telegram", "1", NOW)  # a second writer racing: no error
        by_hot = await hot.load("telegram", "1")
        orm_person, created = await People(session).get_or_register("telegram", "2")
        assert created
    assert by_hot is not None and by_hot.state is None
    async with db.transaction() as session:
        people = People(session)
        read_by_orm = await people.find("telegram", "1")
        assert read_by_orm is not None
        assert person_values(read_by_orm) == person_values(by_hot.person)
        assert read_by_orm.created_at == NOW and read_by_orm.last_seen_at == NOW
        assert read_by_orm.reachable and read_by_orm.subscribed and read_by_orm.announcements
        # Every column set through the ORM comes back through the hot store.
        other = await people.find("telegram", "2")
        assert other is not None
        other.locale, other.region, other.api_version = "en", "kyiv", 7
        other.privacy_version, other.consent_at = 3, NOW - timedelta(days=1)
        other.reachable = False
        await session.flush()
        expected = person_values(other)
        hot = await HotStore.open(session)
        read_by_hot = await hot.load("telegram", "2")
    assert read_by_hot is not None
    assert person_values(read_by_hot.person) == expected
    assert read_by_hot.person.id == orm_person.id
    assert read_by_hot.person.consent_at is not None
    assert read_by_hot.person.consent_at.tzinfo is not None


async def test_states_written_by_either_path_read_the_same_and_share_one_version(
    db: Database,
) -> None:
    state = StoredState(
        dialog="status",
        step="number",
        data={"n": 1, "текст": "привіт", "nested": {"a": [1, 2]}},
        history=["menu", "start"],
        offered={"m": "☰ меню"},
        failures=2,
    )
    async with db.transaction() as session:
        person, _ = await People(session).get_or_register("telegram", "1")
        hot = await HotStore.open(session)
        await hot.save_state(person.id, state, NOW)  # first write: an insert
        assert state.version == 1
    async with db.transaction() as session:
        by_orm = await DialogStates(session).load(person.id)
        assert by_orm is not None and asdict(by_orm) == asdict(state)
        by_orm.step, by_orm.failures = "date", 0
        await DialogStates(session).save(person.id, by_orm)
        assert by_orm.version == 2
    async with db.transaction() as session:
        hot = await HotStore.open(session)
        loaded = await hot.load("telegram", "1")
        assert loaded is not None and loaded.state is not None
        assert asdict(loaded.state) == asdict(by_orm)
        assert await hot.state_version(person.id) == 2
        # The version written by one path is the one the other checks.
        with pytest.raises(StaleStateError):
            await hot.save_state(person.id, state, NOW)  # still at version 1: stale
        loaded.state.data["more"] = True
        await hot.save_state(person.id, loaded.state, NOW)
    async with db.transaction() as session:
        with pytest.raises(StaleStateError):
            await DialogStates(session).save(person.id, by_orm)  # version 2: stale now
    async with db.transaction() as session:
        again = await DialogStates(session).load(person.id)
        assert again is not None and again.version == 3 and again.data["more"] is True
        row = await session.get(DialogStateRow, person.id)
        assert row is not None and row.updated_at == NOW


async def test_a_second_first_state_is_refused_like_the_orms(db: Database) -> None:
    async with db.transaction() as session:
        person, _ = await People(session).get_or_register("telegram", "1")
        await DialogStates(session).save(person.id, StoredState(dialog="menu", step="main"))
    async with db.transaction() as session:
        hot = await HotStore.open(session)
        with pytest.raises(StaleStateError):  # someone else wrote the first state
            await hot.save_state(person.id, StoredState(dialog="x", step="y"), NOW)


async def test_erasure_through_the_orm_is_seen_by_the_hot_store(db: Database) -> None:
    async with db.transaction() as session:
        person, _ = await People(session).get_or_register("telegram", "1")
        hot = await HotStore.open(session)
        state = StoredState(dialog="menu", step="main")
        await hot.save_state(person.id, state, NOW)
    async with db.transaction() as session:
        await People(session).erase(person.id)
    async with db.transaction() as session:
        hot = await HotStore.open(session)
        assert await hot.load("telegram", "1") is None
        assert await hot.state_version(person.id) is None
        with pytest.raises(StaleStateError):
            await hot.save_state(person.id, state, NOW)


async def test_claims_by_either_path_are_seen_by_the_other(db: Database) -> None:
    async with db.transaction() as session:
        hot = await HotStore.open(session)
        assert await hot.claim("telegram", "10", '{"to": "5", "replies": []}', NOW)
        assert not await hot.claim("telegram", "10", None, NOW)
        assert await ProcessedEvents(session).claim("telegram", "11")
        assert not await hot.claim("telegram", "11", None, NOW)
        assert await hot.claim("viber", "11", None, NOW)
    async with db.transaction() as session:
        assert not await ProcessedEvents(session).claim("telegram", "10")
        row = await session.get(ProcessedEvent, ("telegram", "10"))
        assert row is not None and row.at == NOW
        taken = await ProcessedEvents(session).take_unsent("telegram", NOW + timedelta(1))
        assert taken == [("10", '{"to": "5", "replies": []}')]


async def test_a_savepoint_undoes_one_update_and_keeps_the_others(db: Database) -> None:
    async with db.transaction() as session:
        hot = await HotStore.open(session)
        await hot.savepoint()
        assert await hot.claim("telegram", "1", None, NOW)
        await hot.savepoint()
        assert await hot.claim("telegram", "2", None, NOW)
        await hot.register("telegram", "7", NOW)
        await hot.rollback_to_savepoint()
        await hot.savepoint()
        assert await hot.claim("telegram", "3", None, NOW)
    async with db.transaction() as session:
        claimed = (await session.scalars(select(ProcessedEvent.event_id))).all()
        assert sorted(claimed) == ["1", "3"]
        assert await People(session).find("telegram", "7") is None


async def test_usage_counts_written_by_the_hot_store_read_as_the_orms(db: Database) -> None:
    """`Context.count` rows go through the hot store; `python -m bot stats` reads them
    through the ORM (a column added to usage_events must be thought about here)."""
    assert {c.key for c in inspect(UsageEvent).columns} == {"id", "at", "metric", "key"}
    later = NOW.replace(minute=5)
    async with db.transaction() as session:
        hot = await HotStore.open(session)
        await hot.count([(NOW, "started", "status"), (later, "completed", "status")])
        session.add(UsageEvent(at=later, metric="started", key="booking"))
    async with db.transaction() as session:
        rows = (await session.scalars(select(UsageEvent).order_by(UsageEvent.id))).all()
        assert [(r.at, r.metric, r.key) for r in rows] == [
            (NOW, "started", "status"),
            (later, "completed", "status"),
            (later, "started", "booking"),
        ]
        assert (
            await session.scalar(select(func.count()).where(UsageEvent.at > NOW)) == 2
        )  # compared as times, not as text


async def finish_batch(
    hot: HotStore, updates: list[tuple[int, StoredState, str, list[tuple[datetime, str, str]]]]
) -> tuple[list[int], bool]:
    """Finish a batch's updates as the engine's optimistic batch does: (stale people,
    whether an id was claimed before), whether the store wrote at once or held."""
    stale: list[int] = []
    redelivered = False
    for person_id, state, event_id, counted in updates:
        try:
            claimed = await hot.finish(
                person_id, state, "telegram", event_id, '{"r": 1}', NOW, counted
            )
        except StaleStateError:
            stale.append(person_id)
            continue
        redelivered = redelivered or not claimed
    held = await hot.finish_held()
    return stale + held.stale, redelivered or held.redelivered


async def test_a_batch_finished_together_writes_what_finishing_one_by_one_writes(
    db: Database,
) -> None:
    """PostgreSQL holds an optimistic batch's finishes for one statement at its end."""
    async with db.transaction() as session:
        people = [(await People(session).get_or_register("telegram", str(n)))[0] for n in (1, 2)]
        await DialogStates(session).save(people[1].id, StoredState(dialog="menu", step="main"))
    first = StoredState(dialog="status", step="number", data={"д": [1]}, offered={"m": "меню"})
    async with db.transaction() as session:
        second = await DialogStates(session).load(people[1].id)
        assert second is not None
        second.step, second.history = "other", ["menu"]
        hot = await HotStore.open(session, hold=True)
        outcome = await finish_batch(
            hot,
            [
                (people[0].id, first, "100", [(NOW, "started", "status")]),
                (people[1].id, second, "101", []),
            ],
        )
        assert outcome == ([], False)
        assert (first.version, second.version) == (1, 2)  # as the database has them now
    async with db.transaction() as session:
        for person, state in zip(people, (first, second), strict=True):
            assert asdict(await DialogStates(session).load(person.id) or first) == asdict(state)
            row = await session.get(DialogStateRow, person.id)
            assert row is not None and row.updated_at == NOW
        taken = await ProcessedEvents(session).take_unsent("telegram", NOW + timedelta(1))
        assert sorted(taken) == [("100", '{"r": 1}'), ("101", '{"r": 1}')]
        rows = (await session.scalars(select(UsageEvent))).all()
        assert [(r.at, r.metric, r.key) for r in rows] == [(NOW, "started", "status")]


async def test_a_batch_finished_together_tells_a_stale_state_and_a_redelivery(
    db: Database,
) -> None:
    async with db.transaction() as session:
        people = [
            (await People(session).get_or_register("telegram", str(n)))[0] for n in (1, 2, 3)
        ]
        for person in people[:2]:
            await DialogStates(session).save(person.id, StoredState(dialog="menu", step="main"))
        assert await ProcessedEvents(session).claim("telegram", "7")
    async with db.transaction() as session:
        # Someone else wrote the first person's state since it was read (version 1).
        stale = StoredState(dialog="menu", step="main", version=1)
        fresh = await DialogStates(session).load(people[1].id)
        assert fresh is not None
        await DialogStates(session).save(
            people[0].id, StoredState(dialog="x", step="y", version=1)
        )
        hot = await HotStore.open(session, hold=True)
        assert await finish_batch(hot, [(people[0].id, stale, "1", [])]) == (
            [people[0].id],
            False,
        )
        # … and a first state that someone else wrote first is stale too.
        hot = await HotStore.open(session, hold=True)
        first_again = StoredState(dialog="menu", step="main")
        assert await finish_batch(hot, [(people[1].id, first_again, "2", [])]) == (
            [people[1].id],
            False,
        )
        hot = await HotStore.open(session, hold=True)
        assert await finish_batch(
            hot, [(people[1].id, fresh, "7", []), (people[2].id, StoredState("a", "b"), "8", [])]
        ) == ([], True)


async def test_changed_person_columns_are_written_by_the_hot_store_as_by_a_flush(
    db: Database,
) -> None:
    """A step's changes to the person (language, consent, touch) are written with the
    update's state, not by an ORM flush; read back through the ORM, they are the same."""
    for hold in (False, True):
        user = f"u{hold}"
        async with db.transaction() as session:
            hot = await HotStore.open(session)
            registered = await hot.register("telegram", user, NOW)
            assert registered is not None and registered.person.locale is None
            assert await hot.register("telegram", user, NOW) is None  # someone was first
        later = NOW + timedelta(hours=1)
        async with db.transaction() as session:
            hot = await HotStore.open(session, hold=hold)
            loaded = await hot.load("telegram", user)
            assert loaded is not None
            person = session.sync_session.merge(loaded.person, load=False)
            person.locale, person.consent_at, person.privacy_version = "uk", later, 3
            person.reachable, person.last_seen_at, person.region = False, later, None
            changes = person_changes(session, person)
            assert changes == {
                "locale": "uk",
                "consent_at": later,
                "privacy_version": 3,
                "reachable": False,
                "last_seen_at": later,
                "region": None,
            }
            assert session.sync_session._is_clean()  # nothing left for the ORM to write
            state = StoredState(dialog="menu", step="main")
            assert await finish_batch_with(hot, person.id, state, changes)
        async with db.transaction() as session:
            read = await People(session).find("telegram", user)
            assert read is not None
            assert (read.locale, read.consent_at, read.privacy_version) == ("uk", later, 3)
            assert (read.reachable, read.last_seen_at, read.region) == (False, later, None)
            assert (read.subscribed, read.announcements) == (True, True)  # not touched
            # Anything else changed: the ORM writes it all, as before.
            read.locale = "en"
            read.platform_user_id = f"{user}-renamed"
            assert person_changes(session, read) is None
            assert not session.sync_session._is_clean()


async def finish_batch_with(
    hot: HotStore, person_id: int, state: StoredState, changes: dict[str, object]
) -> bool:
    claimed = await hot.finish(person_id, state, "telegram", None, None, NOW, None, changes)
    return claimed and (await hot.finish_held()).ok
