"""The hot path's statements: the three tables every update touches, without the ORM.

An update costs three statements here — read the person with their state (one
join), write the state back (compare-and-set on `version`), claim the delivery id
with the replies — against the ORM's seven round trips with greenlet switches and,
on SQLite, a thread hop each; two when `HotCache` still holds the person and
their state from their last update. The statements run on the connection of the batch's
transaction (`Engine`), so the ORM session that dialog steps query and write
through is the same transaction:

- SQLite: the stdlib `sqlite3` connection under SQLAlchemy (storage/loop_sqlite.py,
  or aiosqlite's for an in-memory database, with `check_same_thread` off), called
  on the loop's thread under the process's writer lock. `sqlite3` keeps the
  statements prepared (its statement cache).
- PostgreSQL: the asyncpg connection under SQLAlchemy, whose statement cache keeps
  them prepared; its transaction is the session's.

`tests/test_hot_store.py` runs the same operations through this module and through
the repositories (`People`, `DialogStates`, `ProcessedEvents`) on both databases
and compares what each reads of what the other wrote: a model or migration change
that this module does not follow fails there.
"""

from __future__ import annotations

import functools
import json
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import attributes, configure_mappers, make_transient_to_detached

from storage.models import Person
from storage.repositories.dialog_states import StaleStateError, StoredState

#: the columns of `people` read by the hot path, in this order (`Person` attributes)
PERSON_COLUMNS = (
    "id",
    "platform",
    "platform_user_id",
    "locale",
    "region",
    "consent_at",
    "privacy_version",
    "reachable",
    "subscribed",
    "announcements",
    "api_version",
    "created_at",
    "last_seen_at",
)
_DATETIMES = frozenset({"consent_at", "created_at", "last_seen_at"})
_BOOLEANS = frozenset({"reachable", "subscribed", "announcements"})
STATE_COLUMNS = ("dialog", "step", "data", "history", "offered", "failures", "version")

_SELECT = (
    "SELECT "
    + ", ".join(f"p.{c}" for c in PERSON_COLUMNS)
    + ", "
    + ", ".join(f"s.{c}" for c in STATE_COLUMNS)
    + " FROM people p LEFT JOIN dialog_states s ON s.person_id = p.id"
    " WHERE p.platform = {0} AND p.platform_user_id = {1}"
)
_REGISTER = (
    "INSERT INTO people (platform, platform_user_id, created_at, last_seen_at,"
    " reachable, subscribed, announcements) VALUES ({0}, {1}, {2}, {2}, {3}, {3}, {3})"
    " ON CONFLICT (platform, platform_user_id) DO NOTHING RETURNING " + ", ".join(PERSON_COLUMNS)
)
_INSERT_STATE = (
    "INSERT INTO dialog_states (person_id, dialog, step, data, history, offered, failures,"
    " version, updated_at) VALUES ({0}, {1}, {2}, {3}, {4}, {5}, {6}, {7}, {8})"
    " ON CONFLICT (person_id) DO NOTHING"
)
_UPDATE_STATE = (
    "UPDATE dialog_states SET dialog = {1}, step = {2}, data = {3}, history = {4},"
    " offered = {5}, failures = {6}, version = {7}, updated_at = {8}"
    " WHERE person_id = {0} AND version = {9}"
)
_COUNT = "INSERT INTO usage_events (at, metric, key) VALUES ({0}, {1}, {2})"
_STATE_VERSION = "SELECT version FROM dialog_states WHERE person_id = {0}"
_LOCK_STATE = "SELECT 1 FROM dialog_states WHERE person_id = {0} FOR UPDATE"
_CLAIM = (
    "INSERT INTO processed_events (platform, event_id, at, replies) VALUES ({0}, {1}, {2}, {3})"
    " ON CONFLICT (platform, event_id) DO NOTHING"
)


#: the columns of `people` a dialog step changes (through the ORM's attributes), which
#: the hot store writes at the end of the update instead of an ORM flush
#: (`person_changes`), each with how it is read back from the JSON `_FINISH_ALL` carries
_PERSON_CASTS = {
    "locale": "{}",
    "region": "{}",
    "consent_at": "({})::timestamptz",
    "privacy_version": "({})::int",
    "reachable": "({})::boolean",
    "subscribed": "({})::boolean",
    "announcements": "({})::boolean",
    "api_version": "({})::int",
    "last_seen_at": "({})::timestamptz",
}
_CHANGEABLE = frozenset(_PERSON_CASTS)


def _field(name: str) -> str:
    return f"c.v->>'{name}'"


#: PostgreSQL: every update of an optimistic batch finished in one statement (arrays, one
#: element per update): states written (compare-and-set; a first state inserted), the
#: delivery ids claimed, the usage counts written, the people's changed columns written
#: (JSON: column → value); answers the people whose state was saved and how many ids
#: were claimed
_FINISH_ALL = """WITH i AS (
  SELECT * FROM unnest($1::int[], $2::varchar[], $3::varchar[], $4::text[], $5::text[],
    $6::text[], $7::int[], $8::int[], $9::timestamptz[])
  AS t(person_id, dialog, step, data, history, offered, failures, version, at)
), s AS (
  UPDATE dialog_states d SET dialog = i.dialog, step = i.step, data = i.data::json,
    history = i.history::json, offered = i.offered::json, failures = i.failures,
    version = i.version + 1, updated_at = i.at
  FROM i WHERE i.version > 0 AND d.person_id = i.person_id AND d.version = i.version
  RETURNING d.person_id
), n AS (
  INSERT INTO dialog_states (person_id, dialog, step, data, history, offered, failures,
    version, updated_at)
  SELECT person_id, dialog, step, data::json, history::json, offered::json, failures, 1, at
  FROM i WHERE i.version = 0
  ON CONFLICT (person_id) DO NOTHING RETURNING person_id
), c AS (
  INSERT INTO processed_events (platform, event_id, at, replies)
  SELECT * FROM unnest($10::varchar[], $11::varchar[], $12::timestamptz[], $13::text[])
  ON CONFLICT (platform, event_id) DO NOTHING RETURNING 1
), u AS (
  INSERT INTO usage_events (at, metric, key)
  SELECT * FROM unnest($14::timestamptz[], $15::varchar[], $16::varchar[])
), w AS (
  UPDATE people p SET
    PERSON_SETS
  FROM (SELECT id, v::jsonb AS v FROM unnest($17::int[], $18::text[]) AS t(id, v)) c
  WHERE p.id = c.id
)
SELECT ARRAY(SELECT person_id FROM s UNION ALL SELECT person_id FROM n),
  (SELECT count(*) FROM c)""".replace(
    "PERSON_SETS",
    ",\n    ".join(
        f"{name} = CASE WHEN c.v ? '{name}' THEN {cast.format(_field(name))} ELSE p.{name} END"
        for name, cast in _PERSON_CASTS.items()
    ),
)


@dataclass(slots=True)
class Held:
    """What `HotStore.finish_held` found: the people whose state was stale (someone
    else wrote it since it was read), and whether a delivery id had been claimed before."""

    stale: list[int]
    redelivered: bool

    @property
    def ok(self) -> bool:
        return not self.stale and not self.redelivered


# Cached: formatting a statement on every call cost more than looking it up.
@functools.cache
def _sqlite(sql: str, count: int) -> str:
    return sql.format(*(f"?{i}" for i in range(1, count + 1)))


@functools.cache
def _postgres(sql: str, count: int) -> str:
    return sql.format(*(f"${i}" for i in range(1, count + 1)))


@dataclass(slots=True)
class Loaded:
    """A person (detached, not in any session) and their state, if they have one."""

    person: Person
    state: StoredState | None


_PERSON_MANAGER = attributes.manager_of_class(Person)


def _person(values: dict[str, Any]) -> Person:
    """A detached `Person` as the ORM would have loaded it (no change history): a
    quarter of the cost of `Person(**values)`, which records every value as a change."""
    configure_mappers()  # done at the first object otherwise, which this skips
    person: Person = _PERSON_MANAGER.new_instance()
    person.__dict__.update(values)
    make_transient_to_detached(person)
    return person


def person_changes(session: AsyncSession, person: Person) -> dict[str, Any] | None:
    """The columns of `person` a step changed, taken out of the ORM's hands for the hot
    store to write with the update's state (`HotStore.finish`): an ORM flush of the
    person cost a round trip of its own and the unit of work's bookkeeping, on every
    language choice, consent and touch. None when nothing changed, or when something the
    hot store does not write changed (the ORM's flush writes it all, as before)."""
    state = attributes.instance_state(person)
    if not state.modified or not state.persistent:
        return None
    changed = state.committed_state.keys()
    if not changed or not changed <= _CHANGEABLE:
        return None
    values = {name: state.dict[name] for name in changed}
    # As if just loaded with these values: the ORM has nothing left to write for them.
    state._commit_all(state.dict, session.sync_session.identity_map)
    return values


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return _sqlite_time(value)
    return int(value) if isinstance(value, bool) else value


def _json_value(value: Any) -> Any:
    return value.astimezone(UTC).isoformat() if isinstance(value, datetime) else value


@functools.cache
def _update_person(names: tuple[str, ...], style: str) -> str:
    """UPDATE people SET these columns: one statement per set of names and style."""
    mark = "?" if style == "sqlite" else "$"
    marks = [f"{mark}{i}" for i in range(1, len(names) + 2)]
    sets = ", ".join(f"{name} = {m}" for name, m in zip(names, marks, strict=False))
    return f"UPDATE people SET {sets} WHERE id = {marks[-1]}"


def _sqlite_time(moment: datetime) -> str:
    # the text SQLAlchemy writes for a DateTime on SQLite (UTC, no offset)
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _from_sqlite_time(value: str | None) -> datetime | None:
    if value is None:
        return None
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


#: what `json.dumps(value, ensure_ascii=False)` writes, without a new encoder per call
compact_json = json.JSONEncoder(ensure_ascii=False).encode


def _state_values(state: StoredState) -> tuple[str, str, str, str, str, int]:
    return (
        state.dialog,
        state.step,
        compact_json(state.data),
        compact_json(state.history),
        compact_json(state.offered),
        state.failures,
    )


def _state_params(person_id: int, state: StoredState, at: object) -> tuple[Any, ...]:
    """The parameters of `_INSERT_STATE` for a first state, or of `_UPDATE_STATE` (with
    the version read last, for the compare-and-set)."""
    values = (person_id, *_state_values(state), state.version + 1, at)
    return values if state.version == 0 else (*values, state.version)


#: how long a person read from the database is served from `HotCache` before it is read
#: again: the bound on how stale a person changed by another process can be (docs/architecture.md)
CACHE_SECONDS = 30.0
#: people kept at most (the least recently handled go first; some 2.7 kB each)
CACHE_SIZE = 2_000


@dataclass(slots=True)
class Cached:
    """A person and their state as of the last committed update, and when the person
    was read from the database (a monotonic clock's time)."""

    person: Person
    state: StoredState
    read_at: float


class HotCache:
    """People and their dialog state kept between updates, saving the read per update.

    Only what a committed update left is kept (`put` after the commit), and `take`
    removes what it hands out, so an update that fails or is undone leaves nothing
    behind. How each kind of change reaches it:

    - the state: another process, or a path of this one, that writes it bumps its
      version, and `HotStore.save_state` refuses the stale one (the update is handled
      again on fresh rows, taken from the database);
    - erasure: the row is gone, so the same version check fails; in this process the
      engine drops the erased person and `forget` drops anyone a session deleted;
    - the person's row written by this process (the outbox marking someone
      unreachable, Viber's api_version, a staff action): `storage.db.Database`
      calls `forget` after each commit that wrote people; an update whose batch
      began before that commit may not put what it read (`mark`);
    - the person's row written by another process (the outbox of a second worker, the
      command line): nothing here sees it, so a person is read again at the latest
      `CACHE_SECONDS` after it was read.
    """

    def __init__(
        self,
        *,
        seconds: float = CACHE_SECONDS,
        size: int = CACHE_SIZE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.seconds = seconds
        self.size = size
        self.clock = clock
        self._entries: dict[tuple[str, str], Cached] = {}
        self._keys: dict[int, tuple[str, str]] = {}  # person id → their entry's key
        self._tick = 0
        #: person id → tick of the last commit that wrote them (bounded by `size`)
        self._written: dict[int, int] = {}
        self._all_written = 0
        #: person id → until when their state is not cached (`shared`)
        self._shared: dict[int, float] = {}
        #: takes answered from the cache, and missed (tests, benchmarks)
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def mark(self) -> int:
        """Taken before reading: `put` refuses what was read before a later `forget`."""
        return self._tick

    def take(self, platform: str, user_id: str) -> Cached | None:
        entry = self._entries.pop((platform, user_id), None)
        if entry is not None:
            self._keys.pop(entry.person.id, None)
        if entry is None or self.clock() - entry.read_at >= self.seconds:
            self.misses += 1
            return None
        self.hits += 1
        return entry

    def put(self, platform: str, user_id: str, entry: Cached, since: int) -> None:
        """Keep `entry`, read or re-validated in a transaction that began at `since`."""
        if self._all_written > since or self._written.get(entry.person.id, -1) > since:
            return  # written by someone else meanwhile: what we hold may predate it
        if self._shared and self._shared.get(entry.person.id, 0.0) > entry.read_at:
            return
        entries, key = self._entries, (platform, user_id)
        replaced = entries.pop(key, None)
        if replaced is not None:
            self._keys.pop(replaced.person.id, None)
        entries[key] = entry  # the newest last: dicts keep that order
        self._keys[entry.person.id] = key
        # The least recently handled first: gone once too many, or once their read is too
        # old to serve (they have stopped writing), so memory follows who is active now.
        expired = self.clock() - self.seconds
        while entries:
            oldest = next(iter(entries))
            if len(entries) <= self.size and entries[oldest].read_at > expired:
                break
            self._keys.pop(entries.pop(oldest).person.id, None)

    def shared(self, person_id: int) -> None:
        """Their cached state was stale: someone else (another worker) writes it too.
        Not kept for `seconds`: read each time, rather than handled twice."""
        if len(self._shared) >= self.size:
            self._shared.clear()
        self._shared[person_id] = self.clock() + self.seconds

    def forget(self, person_ids: Iterable[int] | None) -> None:
        """These people's rows (None: anyone's) were written and committed elsewhere."""
        self._tick += 1
        if person_ids is None:
            self._entries.clear()
            self._keys.clear()
            self._written.clear()
            self._all_written = self._tick
            return
        for person_id in person_ids:
            key = self._keys.pop(person_id, None)
            if key is not None:
                self._entries.pop(key, None)
            self._written[person_id] = self._tick
        if len(self._written) > self.size:  # bounded: forgetting everyone is always safe
            self.forget(None)


class HotStore:
    """The hot statements on one transaction's connection; see the module's text.

    Opened with `hold`, a store may keep `finish`'s writes until `finish_held`, which
    writes all of them together (PostgreSQL: one round trip for the batch instead of one
    per update). `finish` then cannot tell a stale state or a redelivery: it answers
    True, and `finish_held` says what went wrong, for the caller to undo the
    transaction and handle its updates again one by one.
    """

    hold = False

    async def savepoint(self) -> None:
        """A savepoint for the next update (the previous one's is released)."""
        raise NotImplementedError

    async def rollback_to_savepoint(self) -> None:
        raise NotImplementedError

    async def load(self, platform: str, user_id: str) -> Loaded | None:
        raise NotImplementedError

    async def register(self, platform: str, user_id: str, now: datetime) -> Loaded | None:
        """Create the person if they do not exist (safe when another writer races): the
        new person, or None when someone else registered them first."""
        raise NotImplementedError

    async def update_person(self, person_id: int, changes: dict[str, Any]) -> None:
        """Write these columns of `people` (`person_changes`)."""
        raise NotImplementedError

    async def save_state(self, person_id: int, state: StoredState, now: datetime) -> None:
        """Compare-and-set on `version`, like `DialogStates.save`: StaleStateError if
        someone else wrote the state since it was read (or erased the person)."""
        raise NotImplementedError

    async def state_version(self, person_id: int) -> int | None:
        raise NotImplementedError

    async def lock_state(self, person_id: int) -> None:
        """Keep other writers off the person's state until the transaction ends, so an
        update handled again after a stale state cannot find it stale once more.
        SQLite needs nothing: the batch's transaction holds the database's one writer lock."""

    async def count(self, moments: list[tuple[datetime, str, str]]) -> None:
        """`usage_events` rows (at, metric, key), as `Context.count` noted them."""
        raise NotImplementedError

    async def claim(
        self, platform: str, event_id: str, replies: str | None, now: datetime
    ) -> bool:
        """True the first time a delivery id is seen, like `ProcessedEvents.claim`."""
        raise NotImplementedError

    async def finish(
        self,
        person_id: int,
        state: StoredState | None,
        platform: str,
        event_id: str | None,
        replies: str | None,
        now: datetime,
        counted: list[tuple[datetime, str, str]] | None = None,
        changes: dict[str, Any] | None = None,
    ) -> bool:
        """The end of an update: the person's changed columns written (`update_person`),
        what it counted written (`count`), its state saved (`save_state`, unless None:
        erased) and its delivery id claimed (`claim`, when it has one). StaleStateError
        for a stale state; False when the id was claimed before."""
        if changes:
            await self.update_person(person_id, changes)
        if counted:
            await self.count(counted)
        if state is not None:
            await self.save_state(person_id, state, now)
        return event_id is None or await self.claim(platform, event_id, replies, now)

    async def finish_held(self) -> Held:
        """Write what `finish` held (nothing, unless opened with `hold`)."""
        return Held([], False)

    @staticmethod
    async def open(session: AsyncSession, *, hold: bool = False) -> HotStore:
        """The hot store on the connection of `session`'s transaction (begun here);
        `hold`: `finish` may wait for `finish_held` (see the class)."""
        connection = await session.connection()
        raw = await connection.get_raw_connection()
        driver: Any = raw.driver_connection
        if connection.dialect.name == "sqlite":
            return SqliteHotStore(driver._conn)
        adapted: Any = raw.dbapi_connection
        if adapted._transaction is None:  # SQLAlchemy begins lazily, at the first statement
            await adapted._start_transaction()
        return PostgresHotStore(driver, hold=hold)


class SqliteHotStore(HotStore):
    def __init__(self, connection: sqlite3.Connection) -> None:
        self.db = connection
        self._has_savepoint = False

    async def savepoint(self) -> None:
        if self._has_savepoint:
            self.db.execute("RELEASE hot")
        self.db.execute("SAVEPOINT hot")
        self._has_savepoint = True

    async def rollback_to_savepoint(self) -> None:
        self.db.execute("ROLLBACK TO hot")

    async def load(self, platform: str, user_id: str) -> Loaded | None:
        row = self.db.execute(_sqlite(_SELECT, 2), (platform, user_id)).fetchone()
        if row is None:
            return None
        state = None
        rest = row[len(PERSON_COLUMNS) :]
        if rest[0] is not None:
            state = StoredState(
                dialog=rest[0],
                step=rest[1],
                data=json.loads(rest[2]) if rest[2] else {},
                history=json.loads(rest[3]) if rest[3] else [],
                offered=json.loads(rest[4]) if rest[4] else {},
                failures=rest[5],
                version=rest[6],
            )
        return Loaded(self._person(row), state)

    @staticmethod
    def _person(row: Any) -> Person:
        values = dict(zip(PERSON_COLUMNS, row, strict=False))
        for name in _DATETIMES:
            values[name] = _from_sqlite_time(values[name])
        for name in _BOOLEANS:
            values[name] = bool(values[name])
        return _person(values)

    async def register(self, platform: str, user_id: str, now: datetime) -> Loaded | None:
        row = self.db.execute(
            _sqlite(_REGISTER, 4), (platform, user_id, _sqlite_time(now), 1)
        ).fetchone()
        return None if row is None else Loaded(self._person(row), None)

    async def update_person(self, person_id: int, changes: dict[str, Any]) -> None:
        names = tuple(changes)
        values = [_sqlite_value(changes[name]) for name in names]
        self.db.execute(_update_person(names, "sqlite"), (*values, person_id))

    async def save_state(self, person_id: int, state: StoredState, now: datetime) -> None:
        statement = _sqlite(_INSERT_STATE, 9) if state.version == 0 else _sqlite(_UPDATE_STATE, 10)
        cursor = self.db.execute(statement, _state_params(person_id, state, _sqlite_time(now)))
        if not cursor.rowcount:
            raise StaleStateError(person_id)
        state.version += 1

    async def state_version(self, person_id: int) -> int | None:
        row = self.db.execute(_sqlite(_STATE_VERSION, 1), (person_id,)).fetchone()
        return None if row is None else int(row[0])

    async def count(self, moments: list[tuple[datetime, str, str]]) -> None:
        self.db.executemany(
            _sqlite(_COUNT, 3), [(_sqlite_time(at), metric, key) for at, metric, key in moments]
        )

    async def claim(
        self, platform: str, event_id: str, replies: str | None, now: datetime
    ) -> bool:
        cursor = self.db.execute(
            _sqlite(_CLAIM, 4), (platform, event_id, _sqlite_time(now), replies)
        )
        return bool(cursor.rowcount)


class PostgresHotStore(HotStore):
    def __init__(self, connection: Any, *, hold: bool = False) -> None:
        self.db = connection  # asyncpg.Connection
        self._has_savepoint = False
        self.hold = hold
        self._states: list[tuple[Any, ...]] = []
        self._saving: list[StoredState] = []
        self._claims: list[tuple[str, str, datetime, str | None]] = []
        self._counts: list[tuple[datetime, str, str]] = []
        self._people: list[tuple[int, str]] = []

    async def savepoint(self) -> None:
        # One round trip: releasing the previous update's savepoint keeps one open at a time.
        if self._has_savepoint:
            await self.db.execute("RELEASE SAVEPOINT hot; SAVEPOINT hot")
        else:
            await self.db.execute("SAVEPOINT hot")
            self._has_savepoint = True

    async def rollback_to_savepoint(self) -> None:
        await self.db.execute("ROLLBACK TO SAVEPOINT hot")

    async def load(self, platform: str, user_id: str) -> Loaded | None:
        row = await self.db.fetchrow(_postgres(_SELECT, 2), platform, user_id)
        if row is None:
            return None
        state = None
        base = len(PERSON_COLUMNS)
        if row[base] is not None:
            state = StoredState(
                dialog=row[base],
                step=row[base + 1],
                data=dict(row[base + 2] or {}),
                history=list(row[base + 3] or []),
                offered=dict(row[base + 4] or {}),
                failures=row[base + 5],
                version=row[base + 6],
            )
        return Loaded(self._person(row), state)

    @staticmethod
    def _person(row: Any) -> Person:
        values = {name: row[i] for i, name in enumerate(PERSON_COLUMNS)}
        for name in _DATETIMES:
            if values[name] is not None:
                values[name] = values[name].astimezone(UTC)
        return _person(values)

    async def register(self, platform: str, user_id: str, now: datetime) -> Loaded | None:
        row = await self.db.fetchrow(_postgres(_REGISTER, 4), platform, user_id, now, True)
        return None if row is None else Loaded(self._person(row), None)

    async def update_person(self, person_id: int, changes: dict[str, Any]) -> None:
        names = tuple(changes)
        values = [changes[name] for name in names]
        await self.db.execute(_update_person(names, "postgres"), *values, person_id)

    async def save_state(self, person_id: int, state: StoredState, now: datetime) -> None:
        first = state.version == 0
        statement = _postgres(_INSERT_STATE, 9) if first else _postgres(_UPDATE_STATE, 10)
        status = await self.db.execute(statement, *_state_params(person_id, state, now))
        if status.endswith(" 0"):  # "UPDATE 0", "INSERT 0 0"
            raise StaleStateError(person_id)
        state.version += 1

    async def state_version(self, person_id: int) -> int | None:
        version = await self.db.fetchval(_postgres(_STATE_VERSION, 1), person_id)
        return None if version is None else int(version)

    async def lock_state(self, person_id: int) -> None:
        await self.db.execute(_postgres(_LOCK_STATE, 1), person_id)

    async def count(self, moments: list[tuple[datetime, str, str]]) -> None:
        await self.db.executemany(_postgres(_COUNT, 3), moments)

    async def claim(
        self, platform: str, event_id: str, replies: str | None, now: datetime
    ) -> bool:
        status = await self.db.execute(_postgres(_CLAIM, 4), platform, event_id, now, replies)
        return not status.endswith(" 0")

    async def finish(
        self,
        person_id: int,
        state: StoredState | None,
        platform: str,
        event_id: str | None,
        replies: str | None,
        now: datetime,
        counted: list[tuple[datetime, str, str]] | None = None,
        changes: dict[str, Any] | None = None,
    ) -> bool:
        # One round trip instead of two to four: the state's write, the claim, the counts
        # and the person's changes in one statement, `_FINISH_ALL`, for the update alone
        # or (held) with the rest of its batch (a network round trip is most of what each
        # costs the bot). Either failing undoes the event with the rest, as separate
        # statements would.
        if state is None:  # erased: no state to write
            return await super().finish(
                person_id, state, platform, event_id, replies, now, counted, changes
            )
        self._states.append((person_id, *_state_values(state), state.version, now))
        self._saving.append(state)
        if event_id is not None:
            self._claims.append((platform, event_id, now, replies))
        if counted:
            self._counts.extend(counted)
        if changes:
            self._people.append(
                (person_id, compact_json({k: _json_value(v) for k, v in changes.items()}))
            )
        if self.hold:
            return True
        held = await self.finish_held()
        if held.stale:
            raise StaleStateError(person_id)
        return not held.redelivered

    async def finish_held(self) -> Held:
        if not self._states:
            return Held([], False)
        states, claims, counts, people = self._states, self._claims, self._counts, self._people
        self._states, self._claims, self._counts, self._people = [], [], [], []
        saving, self._saving = self._saving, []
        saved, claimed = await self.db.fetchrow(
            _FINISH_ALL,
            *_columns(states, 9),
            *_columns(claims, 4),
            *_columns(counts, 3),
            *_columns(people, 2),
        )
        held = Held(sorted({row[0] for row in states} - set(saved)), claimed != len(claims))
        if held.ok:
            for state in saving:
                state.version += 1
        return held


def _columns(rows: list[tuple[Any, ...]], width: int) -> list[list[Any]]:
    """Rows as columns (one array parameter each)."""
    if not rows:
        return [[] for _ in range(width)]
    return [list(column) for column in zip(*rows, strict=True)]
