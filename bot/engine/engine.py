"""The shared dialog engine: one incoming event in, the replies out.

For each event: take the person's lock and queue the event. Every event that is
ready is handled in one transaction per loop turn (group commit), each inside a
savepoint of its own: load the person and their state, apply global commands,
let the current step handle the event, show whatever step comes next, write the
state through (compare-and-set on its version), claim the delivery id (exactly
once) with the replies. The replies come back once the whole batch has
committed. An event whose handling fails is rolled back to its savepoint alone
and becomes an apology and the main menu: the bot never goes silent.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession

from bot.engine.context import Back, Context, Goto, Start
from bot.engine.dialog import DialogRegistry, Step
from bot.engine.events import Button, Incoming, Kind, Reply, joined_notes, replies_to_json
from bot.engine.globals import (
    Global,
    as_global,
    command_of,
    parse_open,
    parse_public,
    typed_global,
)
from bot.engine.locks import KeyedLocks
from bot.engine.platform import PlatformCalls
from bot.engine.runtime import Runtime
from bot.i18n import LANGUAGES, Translator, pick_language, translator
from bot.metrics import Metrics
from bot.services import privacy
from storage.db import OWN_PEOPLE, PEOPLE_FLUSHED, Database
from storage.hot import Cached, HotStore, compact_json, person_changes
from storage.models import Person, UsageEvent
from storage.repositories import DialogStates, People, ProcessedEvents, StoredState
from storage.repositories.dialog_states import StaleStateError

log = logging.getLogger(__name__)

MENU = "menu"
LANGUAGE = "language"
CONSOLE = "console_link"  # dialogs/console_link.py
PRIVACY = "privacy"
#: key in a dialog's data: the screen that opened it (see `Engine._caller`)
CALLER = "_from"
MAX_HOPS = 25  # a dialog that keeps jumping without asking anything is a bug
FAILURES_BEFORE_HELP = 3
#: last_seen_at is kept this precise: rewriting the person's row on every message cost
#: a statement per update, and nothing reads it more finely (retention counts months,
#: Viber's free-message window 24 hours, conservatively: an older time closes it sooner)
TOUCH_EVERY = timedelta(minutes=5)

#: events handled in one transaction at most: a longer batch holds the writer lock (and,
#: on PostgreSQL, row locks) longer, and past 64 written savepoints PostgreSQL's
#: per-transaction subtransaction cache overflows, which slows every other session
MAX_BATCH = 48
#: batches under way at once on PostgreSQL (`Engine.pipeline`)
PIPELINE = 2
#: a state written by someone else meanwhile (another worker) is read again and the
#: event handled again, this many times at most
STALE_RETRIES = 5

AfterCommit = list[Callable[[], Awaitable[None]]]
Outcome = tuple[list[Reply], AfterCommit]


def offered_buttons(replies: list[Reply]) -> dict[str, str]:
    """payload → label as typed (lowercase, single spaces), for every button just shown."""
    return {
        button.payload: " ".join(button.label.split()).casefold()
        for reply in replies
        for row in reply.buttons
        for button in row
    }


class _Careful(Exception):
    """An event of a batch run without savepoints did not succeed: run it again with them."""


class _StaleCache(_Careful):
    """Only states the cache served stale (another worker wrote them): the batch runs again
    as it ran, now on rows read fresh, without a savepoint per event."""


class _Redelivered(Exception):
    """The event's delivery id was claimed before: roll this handling back."""


class _BatchBroken(Exception):
    """The batch's transaction cannot go on (the session needs a full rollback)."""


@dataclass(slots=True)
class _Queued:
    event: Incoming
    keep_for: str | None
    done: asyncio.Future[Outcome]


#: (platform, user id, what to cache once the batch commits)
_Keep = tuple[str, str, Cached]
#: (person id, state version, whether from the cache) as an update read them
_Seen = tuple[int, int, bool]


def _kept(keep_for: str | None, replies: list[Reply]) -> str | None:
    """The replies as stored with the claim (JSON), when the adapter asked to keep them."""
    if keep_for is None or not replies:
        return None
    return compact_json({"to": keep_for, "replies": replies_to_json(replies)})


async def _claim(
    session: AsyncSession, event: Incoming, keep_for: str | None, replies: list[Reply]
) -> bool:
    """Claim the delivery id (with the replies, if asked to keep them); False if taken."""
    if event.event_id is None:
        return True
    return await ProcessedEvents(session).claim(
        event.platform, event.event_id, _kept(keep_for, replies)
    )


def _attach(session: AsyncSession, person: Person) -> Person:
    """The person read by the hot store or kept by the cache (a detached ORM object),
    made the session's, so a dialog's changes to it are written at the flush as before
    (no SELECT to load it)."""
    sync = session.sync_session
    existing: Person | None = sync.identity_map.get((Person, (person.id,), None))
    if existing is not None:  # read through the ORM already in this transaction
        return existing
    sync.add(person)
    return person


async def _flush(session: AsyncSession) -> None:
    """The ORM's writes, if it holds any: a flush with nothing to write still costs a
    greenlet switch (0.15 ms an update, and most updates write nothing through it)."""
    if not session.sync_session._is_clean():
        await session.flush()


@functools.cache
def _navigation(tr: Translator) -> tuple[Button, Button]:
    """Back and Menu in one language (buttons are immutable: one pair serves every reply)."""
    return Button(tr._("◀ Back"), Global.BACK.value), Button(tr._("☰ Menu"), Global.MENU.value)


def needs_touch(person: Person, now: datetime) -> bool:
    """They wrote to us: make them reachable and subscribed, and note when (coarsely)."""
    if not person.reachable or not person.subscribed:
        return True
    seen = person.last_seen_at
    return seen is None or now - as_utc(seen) >= TOUCH_EVERY


def as_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def onboarding_dialog(ctx: Context) -> str | None:
    """The first-contact dialog the person has yet to finish: language, then privacy."""
    if ctx.person.locale is None:
        return LANGUAGE
    if privacy.pending(ctx.person):
        return PRIVACY
    return None


def may_pass_onboarding(ctx: Context, onboarding: str, wanted: Global | None) -> bool:
    """Until onboarding is done, only its own screens, help and a language change.

    Menu, cancel, back or /start would otherwise show the menu to someone who has
    not seen the privacy notice.
    """
    if wanted is Global.LANGUAGE:
        return True
    allowed = (LANGUAGE,) if onboarding == LANGUAGE else (LANGUAGE, PRIVACY)
    return ctx.dialog in allowed and wanted in (None, Global.HELP, Global.RESUME)


def valid_text(event: Incoming) -> Incoming:
    """Typed text as valid Unicode: a letter cut in half (lone surrogates from a terminal
    or a client) cannot be stored or sent, and would fail the whole step."""
    try:
        event.text.encode("utf-8")
    except UnicodeEncodeError:
        text = event.text.encode("utf-8", "surrogatepass").decode("utf-8", "ignore")
        text = "".join(ch for ch in text if not "\ud800" <= ch <= "\udfff")
        return replace(event, text=text)
    return event


class Engine(PlatformCalls):
    def __init__(
        self,
        db: Database,
        runtime: Runtime,
        metrics: Metrics | None = None,
        *,
        dialogs: DialogRegistry,
    ) -> None:
        self.db = db
        self.runtime = runtime
        #: every dialog this bot runs (the features' dialogs, from the composition root)
        self.dialogs = dialogs
        self.metrics = metrics or Metrics()
        self.locks = KeyedLocks()
        #: people and their state between updates, shared by this database's engines
        self.cache = db.hot_cache
        self._queue: list[_Queued] = []
        #: batches under way (handling their events, or committing), and the one still
        #: handling its events, if any (`_start_batch`)
        self._in_flight: set[asyncio.Task[None]] = set()
        self._handling: asyncio.Task[None] | None = None
        #: batches under way at once at most: on PostgreSQL the next batch handles its
        #: events while the last one writes and commits (round trips, an fsync); SQLite
        #: has one writer, whose lock a second batch would only wait for
        self.pipeline = 1 if db.engine.dialect.name == "sqlite" else PIPELINE
        #: (batches, events) committed: the batch size the load gives (tests, benchmarks)
        self.batches = 0
        self.batched = 0
        #: events handled again because another worker wrote the person's state meanwhile
        self.stale_retries = 0
        #: batches run again with savepoints because one of their events did not succeed
        self.careful_batches = 0

    # -- entry point --------------------------------------------------------
    async def handle(self, event: Incoming, *, keep_for: str | None = None) -> list[Reply]:
        """Handle one event; the replies come back once its transaction has committed.

        `keep_for` (the address the adapter will send to) stores the replies with the
        event's claim in the same transaction, so an adapter that crashes before
        sending them can send them after a restart (`ProcessedEvents.take_unsent`).
        """
        started = time.perf_counter()
        event = valid_text(event)
        async with self.locks.hold(event.identity):
            queued = _Queued(event, keep_for, asyncio.get_running_loop().create_future())
            self._queue.append(queued)
            self._start_batch()
            # Shielded: a caller that gives up does not undo a handling already under way.
            replies, actions = await asyncio.shield(queued.done)
        for action in actions:
            try:
                await action()
            except Exception as exc:
                self._log_failure(exc)
        self.metrics.updates.labels(event.platform, event.kind.value).inc()
        self.metrics.latency.labels(event.platform).observe(time.perf_counter() - started)
        return replies

    # -- group commit -------------------------------------------------------
    def _start_batch(self) -> None:
        """A batch for the events waiting, unless one is still handling its events (they
        wait for the next) or `pipeline` batches are under way already.

        A batch begins on the loop turn after it is started, so every event that arrives
        in that turn is in it. A person's lock keeps at most one of their events in the
        queue and in the batches under way, so batches running side by side never hold
        the same person, and a person's events commit in the order they came.
        """
        if self._queue and self._handling is None and len(self._in_flight) < self.pipeline:
            # A context of its own: the batch must not inherit a caller's transaction.
            task = asyncio.create_task(self._next_batch(), context=contextvars.Context())
            self._in_flight.add(task)
            self._handling = task

    async def _next_batch(self) -> None:
        batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
        try:
            await self._run_batch(batch)
        except asyncio.CancelledError:  # shut down: nobody is left waiting for ever
            for queued in self._queue:
                queued.done.cancel()
            self._queue = []
            raise
        finally:
            self._in_flight.discard(asyncio.current_task())
            self._events_handled()
            self._start_batch()

    def _events_handled(self) -> None:
        """The batch of this task has handled its events (it writes and commits now):
        the next may begin."""
        if self._handling is not None and self._handling is asyncio.current_task():
            self._handling = None
            self._start_batch()

    async def _run_batch(
        self, batch: list[_Queued], *, careful: bool = False, again: bool = False
    ) -> None:
        """The batch in one transaction. First without savepoints (each is a round trip on
        PostgreSQL, and almost every event succeeds); if one event does not, nothing of
        the batch is written and it runs again `careful`ly: each event in a savepoint, so
        what fails is undone alone (and retried, or answered with the apology). When the
        only trouble was a state the cache held stale, it runs once more `again` as it
        did, on rows read fresh: with two workers sharing people, that is common, and
        a savepoint per event would cost a round trip each."""
        outcomes: list[Outcome] = []
        keep: list[_Keep] = []
        seen: list[_Seen] = []
        since = self.cache.mark()
        try:
            async with self.db.transaction() as session:
                session.info[OWN_PEOPLE] = {}
                # Optimistic: the updates' state writes and claims may be held and written
                # together at the end (one round trip on PostgreSQL, not one per update).
                hot = await HotStore.open(session, hold=not careful)
                for queued in batch:
                    if careful:
                        outcome = await self._handle_in_batch(session, hot, queued, keep)
                    else:
                        outcome = await self._handle_optimistically(
                            session, hot, queued, keep, seen
                        )
                    outcomes.append(outcome)
                if not careful:
                    self._events_handled()
                held = await hot.finish_held()
                if not held.ok:
                    from_cache = [
                        self._stale([item for item in seen if item[0] == person_id])
                        for person_id in held.stale
                    ]
                    if held.redelivered or not all(from_cache):
                        raise _Careful
                    raise _StaleCache
        except asyncio.CancelledError:
            for queued in batch:
                queued.done.cancel()
            raise
        except _Careful as trouble:
            if isinstance(trouble, _StaleCache) and not again:
                return await self._run_batch(batch, again=True)
            self.careful_batches += 1
            return await self._run_batch(batch, careful=True)
        except Exception as exc:
            # The transaction itself failed (the commit, the connection): nothing of the
            # batch is written. Each event again in a transaction of its own; alone, the
            # usual apology from a fresh transaction.
            if len(batch) > 1:
                log.warning(
                    "a batch of %d failed (%s); one by one", len(batch), type(exc).__name__
                )
                for queued in batch:
                    await self._run_batch([queued])
                return
            self._log_failure(exc)
            outcomes = [await self._recover(batch[0].event, batch[0].keep_for)]
        else:
            self.batches += 1
            self.batched += len(batch)
            for platform, user_id, cached in keep:
                if not inspect(cached.person).unloaded:  # an expired attribute: read again
                    self.cache.put(platform, user_id, cached, since)
        for queued, outcome in zip(batch, outcomes, strict=True):
            if not queued.done.done():
                queued.done.set_result(outcome)

    async def _handle_optimistically(
        self,
        session: AsyncSession,
        hot: HotStore,
        queued: _Queued,
        keep: list[_Keep],
        seen_in_batch: list[_Seen],
    ) -> Outcome:
        """One event without a savepoint: anything but success (a failing step, a stale
        state, a redelivery) has the batch run again carefully (`_Careful`)."""
        seen: list[_Seen] = []
        kept: list[_Keep] = []
        try:
            outcome = await self._handle_update(
                session, hot, queued.event, queued.keep_for, seen, kept
            )
            await _flush(session)
        except StaleStateError:
            if self._stale(seen):
                raise _StaleCache from None
            raise _Careful from None
        except Exception as exc:
            raise _Careful from exc
        keep.extend(kept)
        seen_in_batch.extend(seen)
        return outcome

    async def _handle_in_batch(
        self, session: AsyncSession, hot: HotStore, queued: _Queued, keep: list[_Keep]
    ) -> Outcome:
        """One event inside its own savepoint: what fails is undone alone."""
        event, keep_for = queued.event, queued.keep_for
        tries = 0
        #: the person whose state was found stale: locked before it is read again
        contended: int | None = None
        while tries < STALE_RETRIES:
            tries += 1
            await hot.savepoint()
            session.info.pop(PEOPLE_FLUSHED, None)
            if contended is not None:
                # Another worker keeps writing this person's state (their updates are
                # shared): without the lock each try could lose the race again.
                await hot.lock_state(contended)
            seen: list[_Seen] = []
            kept: list[_Keep] = []
            try:
                outcome = await self._handle_update(session, hot, event, keep_for, seen, kept)
                # The ORM's writes, inside this event's savepoint: never left for the
                # next event's savepoint, where they would be undone with its failure.
                await _flush(session)
                keep.extend(kept)
                return outcome
            except _Redelivered:
                await self._undo(session, hot, keep)
                return [], []  # handled already: everything this run did was rolled back
            except StaleStateError:
                await self._undo(session, hot, keep)
                if self._stale(seen):
                    tries -= 1  # the cache's, not a race: the next try reads the database
                contended = seen[0][0] if seen else None
                continue  # another worker wrote this person's state: read it again
            except Exception as exc:
                await self._undo(session, hot, keep)
                if seen and (await hot.state_version(seen[0][0]) or 0) != seen[0][1]:
                    if self._stale(seen):
                        tries -= 1
                    contended = seen[0][0]
                    continue  # failed on a state changed meanwhile: handled again on the new
                self._log_failure(exc)
                break
        await hot.savepoint()
        session.info.pop(PEOPLE_FLUSHED, None)
        try:
            if contended is not None:
                await hot.lock_state(contended)
            outcome = await self._recovery(session, event, keep_for)
            await _flush(session)
            return outcome
        except _Redelivered:
            await self._undo(session, hot, keep)
            return [], []
        except Exception as exc:
            self._log_failure(exc)
            await self._undo(session, hot, keep)
            return self._unavailable(event), []

    def _stale(self, seen: list[_Seen]) -> bool:
        """Counted; True when the stale state came from the cache."""
        self.stale_retries += 1
        if not (seen and seen[0][2]):
            return False
        # Someone else writes this person's state too (another worker sharing their
        # updates): caching them would cost a second handling of every update.
        self.cache.shared(seen[0][0])
        return True

    async def _undo(self, session: AsyncSession, hot: HotStore, keep: list[_Keep]) -> None:
        """Back to the event's savepoint; the session forgets what it held of the event."""
        if not session.is_active:  # a failed ORM flush: only a full rollback helps
            raise _BatchBroken
        await hot.rollback_to_savepoint()
        # Earlier events' objects were flushed (they are in the transaction); the failed
        # event's may be pending or dirty and must not be written at the next flush.
        session.expunge_all()
        session.info[OWN_PEOPLE] = {}
        # An earlier event's person written by this one (a staff step) holds values the
        # rollback undid: not to be cached.
        undone = session.info.pop(PEOPLE_FLUSHED, set())
        if undone:
            keep[:] = [item for item in keep if item[2].person.id not in undone]

    async def _handle_update(
        self,
        session: AsyncSession,
        hot: HotStore,
        event: Incoming,
        keep_for: str | None,
        seen: list[_Seen],
        kept: list[_Keep],
    ) -> Outcome:
        # The delivery id is claimed last, with the replies, in one statement: a
        # redelivery (rare) is found there and rolls back, and the usual first
        # delivery costs no statement of its own. On PostgreSQL a second worker with
        # the same update waits at the claim's unique key until the first commits.
        now = self.runtime.now()
        view = await self._public_view(session, event)
        if view is not None:  # nothing about the person is written, but the claim is
            if event.event_id is not None and not await hot.claim(
                event.platform, event.event_id, _kept(keep_for, view), now
            ):
                raise _Redelivered
            return view, []
        # From the cache, the person and state the last committed update left: the
        # state's version check below catches a stale one (handled again, read fresh).
        cached = self.cache.take(event.platform, event.user_id)
        if cached is not None:
            person, state, read_at = cached.person, cached.state, cached.read_at
        else:
            read_at = self.cache.clock()
            loaded = await hot.load(event.platform, event.user_id)
            if loaded is None:
                # New; or, should another worker register them first, read theirs.
                loaded = await hot.register(event.platform, event.user_id, now) or await hot.load(
                    event.platform, event.user_id
                )
                assert loaded is not None
            person = loaded.person
            state = loaded.state or StoredState(dialog="", step="")
        person = _attach(session, person)
        session.info[OWN_PEOPLE][person.id] = person
        if needs_touch(person, now):
            await People(session).touch(person, at=now)
        seen.append((person.id, state.version, cached is not None))
        ctx = self._context(session, event, person, state)
        await self._route(ctx)
        if not ctx.erased:
            if not ctx.replies:  # never silent
                await self._show(ctx)
            ctx.replies = joined_notes(ctx.replies, ctx.notes)
            state.offered = offered_buttons(ctx.replies)
        # The person's changed columns, what the step counted, the state's
        # compare-and-set (on PostgreSQL this, not a lock, keeps two workers from both
        # applying an event of one person: the later one is handled again), and the
        # claim of the delivery id with the replies.
        if not await hot.finish(
            person.id,
            None if ctx.erased else state,
            event.platform,
            event.event_id,
            _kept(keep_for, ctx.replies),
            now,
            ctx.counted,
            None if ctx.erased else person_changes(session, person),
        ):
            raise _Redelivered
        if not ctx.erased:
            kept.append((event.platform, event.user_id, Cached(person, state, read_at)))
        return ctx.replies, ctx.after_commit_actions

    def _context(
        self, session: AsyncSession, event: Incoming, person: Person, state: StoredState
    ) -> Context:
        """The context a step sees; someone who chose no language yet is answered in their
        messenger's (when it is one of ours)."""
        ctx = Context(
            event=event,
            person=person,
            state=state,
            runtime=self.runtime,
            dialogs=self.dialogs,
            db=session,
            is_staff=self.runtime.settings.is_staff(event.platform, event.user_id),
        )
        if person.locale is None:
            language = pick_language(event.language_code, self.runtime.settings.default_locale)
            ctx.tr = translator(language)
        return ctx

    async def _public_view(self, session: AsyncSession, event: Incoming) -> list[Reply] | None:
        """A public dialog's screen for someone not (yet) agreeing to the notice: shown
        from a throw-away person, so nothing about them is written."""
        parsed = parse_public(event.payload) if event.kind is Kind.BUTTON else None
        if parsed is None:
            return None
        dialog = self.dialogs.get(parsed[0])
        if dialog is None or not dialog.public:
            return None
        existing = await People(session).find(event.platform, event.user_id)
        if existing is not None and existing.locale is not None and not privacy.pending(existing):
            return None  # an onboarded person: `_route` opens the dialog as usual
        language = parsed[1] if parsed[1] in LANGUAGES else self.runtime.settings.default_locale
        person = Person(platform=event.platform, platform_user_id=event.user_id, locale=language)
        ctx = Context(
            event=event,
            person=person,
            state=StoredState(dialog=dialog.name, step=dialog.first),
            runtime=self.runtime,
            dialogs=self.dialogs,
            db=session,
            is_staff=False,
        )
        ctx.viewing_only = True
        await dialog.steps[dialog.first].show(ctx)
        return ctx.replies

    # -- routing ------------------------------------------------------------
    async def _route(self, ctx: Context) -> None:
        event = ctx.event
        wanted = self._global_of(ctx)
        onboarding = onboarding_dialog(ctx)
        if onboarding is not None and not may_pass_onboarding(ctx, onboarding, wanted):
            return await self._enter(ctx, Start(onboarding, {}))
        if ctx.event.kind is Kind.COMMAND and wanted is None:
            ctx.invalid(ctx._("I do not know this command. Here is where you are:"))
            return await self._settle(ctx, reshow=True)
        if wanted is not None:
            return await self._global(ctx, wanted)
        public = parse_public(event.payload) if event.kind is Kind.BUTTON else None
        if public is not None and public[0] in self.dialogs:
            return await self._enter(ctx, Start(public[0], {}))

        if event.kind is Kind.BUTTON and event.payload not in ctx.state.offered:
            entry = self._entry_of(event.payload)
            if entry is not None:
                return await self._enter(ctx, entry)
        step = self._current_step(ctx)
        if step is None:
            return await self._enter(ctx, Start(MENU, {}))
        if event.kind is Kind.BUTTON and event.payload not in ctx.state.offered:
            ctx.note(ctx._("That button is from an earlier message. Here is where you are now:"))
            return await self._settle(ctx, reshow=True)
        if event.kind is Kind.UNSUPPORTED:
            ctx.note(ctx._("I understand text and buttons only. Please use the buttons below."))
            return await self._settle(ctx, reshow=True)
        await step.handle(ctx, ctx.event)
        await self._settle(ctx)

    def _global_of(self, ctx: Context) -> Global | None:
        event = ctx.event
        if event.kind is Kind.COMMAND:
            return command_of(event.text)
        if event.kind is Kind.BUTTON:
            return as_global(event.payload)
        if event.kind is Kind.TEXT:
            # A typed button label counts as pressing that button (terminal, Viber typing).
            label = " ".join(event.text.split()).casefold()
            matched = self._offered_label(ctx, label)
            if matched is not None:
                ctx.event = replace(event, kind=Kind.BUTTON, payload=matched)
                return as_global(matched)
            return typed_global(event.text)
        return None

    def _entry_of(self, payload: str) -> Start | None:
        """A button from a bot-initiated message that opens an allowed step."""
        parsed = parse_open(payload)
        if parsed is None:
            return None
        dialog = self.dialogs.get(parsed[0])
        if dialog is None or parsed[1] not in dialog.entry_steps:
            return None
        return Start(dialog.name, {}, parsed[1])

    def _offered_label(self, ctx: Context, label: str) -> str | None:
        for payload, offered_label in ctx.state.offered.items():
            if offered_label == label:
                return payload
        return None

    async def _global(self, ctx: Context, wanted: Global) -> None:
        if wanted is Global.CONSOLE:
            if not ctx.is_staff:  # for everyone else the command does not exist
                ctx.invalid(ctx._("I do not know this command. Here is where you are:"))
                return await self._settle(ctx, reshow=True)
            return await self._enter(ctx, Start(CONSOLE, {}))
        if wanted is Global.START:
            ctx.note(ctx._("Welcome back! Here is the main menu."))
            return await self._enter(ctx, Start(MENU, {}))
        if wanted is Global.MENU:
            return await self._enter(ctx, Start(MENU, {}))
        if wanted is Global.LANGUAGE:
            return await self._enter(ctx, Start(LANGUAGE, {}))
        if wanted is Global.CANCEL:
            if ctx.dialog != MENU:
                ctx.note(ctx._("Cancelled. Nothing was sent."))
            return await self._enter(ctx, Start(MENU, {}))
        if wanted is Global.BACK:
            return await self._enter(ctx, Back())
        if wanted is Global.HELP:
            ctx.say(
                ctx._(
                    "I help with social services: which benefits you may get, the status of "
                    "your application, booking an office visit and finding an office.\n\n"
                    "Press the buttons, or type: menu, back, language, help, cancel.\n"
                    "Government contact centre: 1545 (free)."
                ),
                [
                    [
                        Button(ctx._("Continue where I was"), Global.RESUME.value),
                        Button(ctx._("Main menu"), Global.MENU.value),
                    ]
                ],
                title=ctx._("Help"),
            )
            return None
        # RESUME
        return await self._settle(ctx, reshow=True)

    # -- transitions ----------------------------------------------------------
    async def _enter(self, ctx: Context, transition: Goto | Start | Back) -> None:
        ctx.transition = transition
        await self._settle(ctx)

    async def _settle(self, ctx: Context, *, reshow: bool = False) -> None:
        """Apply transitions and re-prompts until a step has asked its question."""
        hops = 0
        if reshow and ctx.transition is None and ctx.error is None:
            await self._show(ctx)
        while ctx.error is not None or ctx.transition is not None:
            hops += 1
            if hops > MAX_HOPS:
                raise RuntimeError(f"dialog {ctx.dialog}/{ctx.step} keeps jumping")
            if ctx.error is not None:
                message, ctx.error = ctx.error, None
                ctx.state.failures += 1
                await self._show(ctx, prefix=message)
                if ctx.state.failures >= FAILURES_BEFORE_HELP:
                    ctx.state.failures = 0
                    ctx.say(
                        ctx._(
                            "Having trouble? You can read the help, go back to the main menu, "
                            "or call the government contact centre 1545 (free)."
                        ),
                        [
                            [
                                Button(ctx._("Help"), Global.HELP.value),
                                Button(ctx._("Main menu"), Global.MENU.value),
                            ]
                        ],
                    )
                continue
            transition, ctx.transition = ctx.transition, None
            self._apply(ctx, transition)
            await self._show(ctx)

    def _apply(self, ctx: Context, transition: Goto | Start | Back | None) -> None:
        state = ctx.state
        if isinstance(transition, Goto):
            dialog = self.dialogs.get(state.dialog)
            if dialog is None or dialog.get(transition.step) is None:
                raise LookupError(f"no step {transition.step!r} in {state.dialog!r}")
            if state.step and state.step != transition.step:
                state.history.append(state.step)
            state.step = transition.step
            state.failures = 0
        elif isinstance(transition, Start):
            target = self.dialogs.get(transition.dialog)
            if target is None or (target.staff_only and not ctx.is_staff):
                target = self.dialogs.get(MENU)
                assert target is not None
                transition = Start(MENU, {})
            step = transition.step or target.first
            if target.get(step) is None:
                raise LookupError(f"no step {step!r} in {target.name!r}")
            caller = self._caller(state, target.name)
            state.dialog, state.step = target.name, step
            state.data, state.history, state.failures = transition.data, [], 0
            if caller is not None:
                state.data[CALLER] = caller
        elif isinstance(transition, Back):
            step_now = self._current_step(ctx)
            if step_now is not None and step_now.back_to is not None:
                # a finished action (a booking made): Back must not redo it
                state.step, state.history, state.failures = step_now.back_to, [], 0
            elif state.history:
                state.step = state.history.pop()
                state.failures = 0
            elif isinstance(state.data.get(CALLER), dict):
                caller = state.data[CALLER]
                state.dialog, state.step = caller["dialog"], caller["step"]
                state.data, state.history = dict(caller["data"]), list(caller["history"])
                state.failures = 0
                if self._current_step(ctx) is None:
                    self._apply(ctx, Start(MENU, {}))
            else:
                self._apply(ctx, Start(MENU, {}))

    def _caller(self, state: StoredState, target: str) -> dict[str, Any] | None:
        """Where Back from the first screen of `target` returns: the screen it was opened
        from (the eligibility result opens booking), one level deep; None for the menu."""
        if target == state.dialog:
            caller = state.data.get(CALLER)
            return caller if isinstance(caller, dict) else None
        if target == MENU:
            return None
        return self._snapshot(state)

    @staticmethod
    def _snapshot(state: StoredState) -> dict[str, Any] | None:
        """The screen a person is on, to come back to; None for the menu and first contact."""
        if state.dialog in ("", MENU, LANGUAGE, PRIVACY) or not state.step:
            return None
        data = {key: value for key, value in state.data.items() if key != CALLER}
        return {
            "dialog": state.dialog,
            "step": state.step,
            "data": data,
            "history": list(state.history),
        }

    def _current_step(self, ctx: Context) -> Step | None:
        dialog = self.dialogs.get(ctx.dialog)
        if dialog is None or (dialog.staff_only and not ctx.is_staff):
            return None
        return dialog.get(ctx.step)

    async def _show(self, ctx: Context, prefix: str | None = None) -> None:
        step = self._current_step(ctx)
        if step is None:
            self._apply(ctx, Start(MENU, {}))
            step = self._current_step(ctx)
            assert step is not None
        first_new = len(ctx.replies)
        await step.show(ctx)
        new = ctx.replies[first_new:]
        if prefix is not None:
            if new:
                ctx.replies[first_new] = replace(new[0], text=f"{prefix}\n\n{new[0].text}")
                # a note stays one: joined into the message after it
                ctx.notes = [ctx.replies[first_new] if n is new[0] else n for n in ctx.notes]
            else:
                ctx.replies.insert(first_new, Reply(text=prefix))
        if (
            ctx.transition is None
            and ctx.dialog != MENU
            and step.back
            and onboarding_dialog(ctx) is None
        ):
            self._add_navigation(ctx, first_new)

    def _add_navigation(self, ctx: Context, first_new: int) -> None:
        """Back and Menu under every question, so nobody is ever stuck.

        On a dialog's first screen Back returns to the screen that opened it, or to the
        menu: both are always there, so `b` and `m` work on every terminal screen too.
        """
        if len(ctx.replies) <= first_new:
            return
        last = ctx.replies[-1]
        offered = {
            b.payload for reply in ctx.replies[first_new:] for row in reply.buttons for b in row
        }
        back, menu = _navigation(ctx.tr)
        has_back, has_menu = back.payload in offered, menu.payload in offered
        if has_back and has_menu:
            return
        nav = (back, menu) if not (has_back or has_menu) else (menu,) if has_back else (back,)
        ctx.replies[-1] = replace(last, buttons=(*last.buttons, nav))

    # -- failures -------------------------------------------------------------
    async def _recover(self, event: Incoming, keep_for: str | None) -> Outcome:
        """Apologise and show the menu, in a fresh transaction."""
        try:
            async with self.db.transaction() as session:
                return await self._recovery(session, event, keep_for)
        except _Redelivered:
            return [], []
        except Exception as exc:
            self._log_failure(exc)
            return self._unavailable(event), []

    def _unavailable(self, event: Incoming) -> list[Reply]:
        """Even the apology could not be written (the database is down): a fixed one."""
        language = pick_language(event.language_code, self.runtime.settings.default_locale)
        tr = translator(language)
        return [
            Reply(
                text=tr._(
                    "Sorry, the service is unavailable right now. "
                    "Please try again in a few minutes."
                )
            )
        ]

    async def _recovery(
        self, session: AsyncSession, event: Incoming, keep_for: str | None
    ) -> Outcome:
        """The apology and the menu, written in `session`."""
        self.metrics.dialog_errors.inc()
        people = People(session)
        person, _ = await people.get_or_register(event.platform, event.user_id)
        states = DialogStates(session)
        previous = await states.load(person.id)
        state = StoredState(dialog="", step="", version=previous.version if previous else 0)
        # What the person was doing (a draft, answers so far) is kept: Back from
        # the menu returns to it, the same way Back returns to a calling screen.
        caller = self._snapshot(previous) if previous else None
        ctx = self._context(session, event, person, state)
        onboarding = onboarding_dialog(ctx)
        if caller is not None and onboarding is None:
            ctx.say(
                ctx._(
                    "Sorry, something went wrong on our side. What you entered is "
                    "kept: press “Back to where I was” to continue, or choose from "
                    "the menu."
                ),
                [[Button(ctx._("↩ Back to where I was"), Global.BACK.value)]],
            )
        else:
            ctx.note(ctx._("Sorry, something went wrong on our side. Here is the main menu."))
        await self._enter(ctx, Start(onboarding or MENU, {}))
        if caller is not None and onboarding is None:
            state.data[CALLER] = caller
        ctx.replies = joined_notes(ctx.replies, ctx.notes)
        state.offered = offered_buttons(ctx.replies)
        await states.save(person.id, state)
        session.add_all(
            UsageEvent(at=at, metric=metric, key=key) for at, metric, key in ctx.counted
        )
        if not await _claim(session, event, keep_for, ctx.replies):
            raise _Redelivered  # handled meanwhile by another worker: it answered
        return ctx.replies, []

    @staticmethod
    def _log_failure(exc: BaseException) -> None:
        # Only the type and where it happened: exception messages can carry what a person typed.
        frames = traceback.extract_tb(exc.__traceback__)
        where = " <- ".join(
            f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno}" for f in reversed(frames)
        )
        log.error("dialog error %s at %s", type(exc).__name__, where[:800])
