"""The outbox worker: sends every message the bot starts itself, durably and within limits.

One lane per platform that has a `Messenger` in this process (rows for other
platforms stay pending for a process that has one). A lane repeatedly:

1. **claims** a batch of due rows — ``pending`` with ``not_before`` reached
   (a reminder waits in the queue until its moment), or ``sending`` whose lease
   ran out because the process that held them died. A row past its
   ``not_after`` is recorded as skipped (``expired``) instead of sent.
   On PostgreSQL the candidates are locked ``FOR UPDATE SKIP LOCKED``, so
   workers in several processes never take the same row; on SQLite every write
   transaction is exclusive (BEGIN IMMEDIATE) and the UPDATE repeats the "due"
   condition, so a row is claimed once. Claimed rows are ``sending`` with a
   lease that a heartbeat keeps extending while this process holds them.
2. **sends** each row through the platform's messenger behind a sliding-window
   rate limiter (`ratelimit.py`); on Viber, identical announcement rows go out
   as one ``deliver_many`` call (``broadcast_message``) of up to ``max_batch``.
3. **records** each outcome, in bulk (a group commit: what came in while one
   write ran goes in the next): sent, blocked (the person is marked unreachable
   or unsubscribed), rate-limited (the lane pauses for ``retry_after``, the row
   waits as long), transient (retried with backoff up to `MAX_ATTEMPTS`, then
   failed), failed (kept with its reason).

A row whose send was recorded is never sent again. Just before the platform
call the row's ``handed_at`` is committed, and a send keeps its place among the
`MAX_IN_FLIGHT` concurrent ones until its outcome is committed too. So after a
crash (`kill -9`, power) the only rows whose message may already have reached
the person are the ``sending`` rows still marked ``handed_at`` — at most the
sends in flight at that instant. Whoever reclaims such a row once its lease
ends sends it again and marks it ``maybe_twice``: the announcement's report
counts it as "possibly delivered twice", not as a plain delivery. A graceful
stop lets sends in progress finish and gives unsent rows back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from prometheus_client import Counter
from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery.messenger import DeliveryResult, Messenger, Messengers, Outcome
from bot.delivery.outbox import body_for
from bot.delivery.ratelimit import SlidingWindowLimiter
from bot.delivery.rows import Claimed, Settled, SettleHook
from bot.metrics import Metrics
from bot.ports import Clock, due_now
from storage.db import Database
from storage.models import OutboxMessage, Person, UTCDateTime
from storage.models.broadcast import Announcement
from storage.repositories import People

if TYPE_CHECKING:
    from bot.settings import Settings

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
POLL_SECONDS = 1.0  # a row enqueued by another process goes out within about this long
FLUSH_SECONDS = 0.05  # after a failed write, the next try
CLAIM_SECONDS = 2.0  # claim about this much sending at the platform's rate
MAX_CLAIM_ROWS = 1000
MAX_IN_FLIGHT = 64
#: seconds before its place in the rate window frees that a send may commit its
#: handed_at (a group commit: 30-50 ms on a busy SQLite, against a 9-15 ms send).
#: Inside the place's time it cost 4 % of the rate; ahead of it, a crash may leave a
#: row in doubt this much longer (resent marked maybe_twice), no more of them. Not
#: longer: a send waiting for its turn holds one of the MAX_IN_FLIGHT (0.1 s: 0.97 of
#: the limit, 0.05 s: 0.98, where 0.96 without; docs/benchmarks.md)
HAND_AHEAD = 0.05
DRAIN_SECONDS = 5.0  # on stop, how long sends already with the platform may take
MAX_ATTEMPTS = 6
BACKOFF_FIRST = 5.0
BACKOFF_MAX = 900.0
DEPTH_SECONDS = 5.0

Q = OutboxMessage


def rate_for(settings: Settings, platform: str) -> float:
    """Messages (Telegram) or API calls (Viber) per second allowed for bulk sends."""
    if platform == "viber":
        return settings.viber_rate_limit
    return settings.telegram_rate_limit


def backoff(attempt: int) -> float:
    return float(min(BACKOFF_FIRST * 2 ** max(attempt - 1, 0), BACKOFF_MAX))


@dataclass(frozen=True, slots=True)
class Unit:
    """One platform call: one row, or many identical rows for `deliver_many`."""

    rows: list[Claimed]
    grouped: bool = False


def settle(row: Claimed, result: DeliveryResult, now: datetime) -> Settled:
    reason = result.reason[:64]
    match result.outcome:
        case Outcome.SENT:
            return Settled(row, "sent", "sent", row.attempts + 1, sent_at=now, ref=result.ref)
        case Outcome.BLOCKED:
            return Settled(row, "blocked", "blocked", row.attempts + 1, reason or "blocked")
        case Outcome.RATE_LIMITED:
            # The platform asked us to wait: not the message's fault, no attempt used.
            wait = timedelta(seconds=result.retry_after or 1.0)
            return Settled(
                row, "pending", "rate_limited", row.attempts, "rate_limited", None, now + wait
            )
        case Outcome.TRANSIENT:
            attempts = row.attempts + 1
            if attempts >= MAX_ATTEMPTS:
                return Settled(row, "failed", "transient", attempts, reason or "transient")
            retry_at = now + timedelta(seconds=backoff(attempts))
            return Settled(
                row, "pending", "transient", attempts, reason or "transient", None, retry_at
            )
        case _:
            return Settled(row, "failed", "failed", row.attempts + 1, reason or "failed")


_counters: WeakKeyDictionary[Metrics, Counter] = WeakKeyDictionary()


def results_counter(metrics: Metrics) -> Counter:
    """Outbox rows by platform and result. Separate from ``poruch_sends_total``, which the
    adapters count per platform call (replies included): one announcement row is one
    result here, whether it went out alone or in a Viber broadcast of 300."""
    if metrics not in _counters:
        _counters[metrics] = Counter(
            "poruch_outbox_results_total",
            "Outbox messages settled, by platform and result "
            "(sent, blocked, rate_limited, transient, failed, skipped, cancelled)",
            ["platform", "result"],
            registry=metrics.registry,
        )
    return _counters[metrics]


#: Called inside the transaction that records a batch of outcomes, with that batch and
#: the time: a feature keeps its own records in step (announcements finish and report).


@dataclass
class _Lane:
    platform: str
    limiter: SlidingWindowLimiter
    event: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: dict[asyncio.Task[None], Unit] = field(default_factory=dict)
    delivering: set[asyncio.Task[None]] = field(default_factory=set)
    quiet_pass: int = -1  # see `OutboxWorker.idle`


class OutboxWorker:
    """Drains the outbox of one database through the messengers of this process.

    Everything it needs is passed in, so the composition root (or a test)
    builds it explicitly; it imports no feature. While it runs it listens on
    the database for commits that queued rows (`Database.listen_outbox`).
    """

    def __init__(
        self,
        database: Database,
        messengers: Messengers,
        settings: Settings,
        metrics: Metrics,
        *,
        clock: Clock,
        settle_hooks: Sequence[SettleHook] = (),
        poll_seconds: float = POLL_SECONDS,
        lease: timedelta = LEASE,
        batch_rows: int | None = None,
    ) -> None:
        self.db = database
        self.messengers = messengers
        self.settings = settings
        self.metrics = metrics
        self.now = clock
        self.settle_hooks = tuple(settle_hooks)
        self.poll_seconds = poll_seconds
        self.lease = lease
        self.batch_rows = batch_rows
        self.limiters: dict[str, SlidingWindowLimiter] = {}
        self._lanes: dict[str, _Lane] = {}
        self._results: list[Settled] = []
        #: futures resolved once the matching results / hand-overs are committed
        self._written: list[asyncio.Future[None]] = []
        self._handing: list[int] = []
        self._handed: list[asyncio.Future[None]] = []
        self._dirty = asyncio.Event()
        self._held: set[int] = set()  # claimed by us, outcome not yet written
        self._ambiguous: set[int] = set()  # the platform may have it: never give back
        self._flush_lock = asyncio.Lock()
        self._stopping = False
        self._counter = results_counter(metrics)
        self._pass = 0  # bumped by `idle`: lanes report the pass their last empty claim saw

    # -- public -------------------------------------------------------------
    def wake(self, due: datetime | None = None) -> None:
        # A row for later (a reminder) is found by the lanes' poll once due: waking for
        # it cost a claim transaction per booking, with nothing to claim.
        if not due_now(due, self.now()):
            return
        for lane in self._lanes.values():
            lane.event.set()

    async def idle(self) -> None:
        """Return once every lane has looked at the outbox after this call, found nothing
        due, and every outcome is written: what a test waits on instead of sleeping."""
        self._pass += 1
        wanted = self._pass
        while not (
            self._lanes
            and all(lane.quiet_pass >= wanted for lane in self._lanes.values())
            and not self._held
            and not self._results
        ):
            self.wake()
            await asyncio.sleep(0.01)

    def limiter(self, platform: str) -> SlidingWindowLimiter:
        if platform not in self.limiters:
            self.limiters[platform] = SlidingWindowLimiter(rate_for(self.settings, platform))
        return self.limiters[platform]

    async def run(self) -> None:
        """Send until cancelled; on cancel, stop gracefully (see the module doc)."""
        self.db.listen_outbox(self)
        helpers = [
            asyncio.create_task(self._flush_loop(), name="outbox:flush"),
            asyncio.create_task(self._lease_loop(), name="outbox:lease"),
        ]
        tasks: dict[str, asyncio.Task[None]] = {}
        try:
            while True:
                for platform in self.messengers.platforms():
                    if platform not in tasks:
                        lane = _Lane(platform, self.limiter(platform))
                        self._lanes[platform] = lane
                        tasks[platform] = asyncio.create_task(
                            self._lane(lane), name=f"outbox:{platform}"
                        )
                await self._report_depth()
                await asyncio.sleep(self.poll_seconds)
        finally:
            self.db.unlisten_outbox(self)
            self._stopping = True
            for task in tasks.values():
                task.cancel()
            await asyncio.gather(*tasks.values(), return_exceptions=True)
            for helper in helpers:
                helper.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
            with contextlib.suppress(Exception):
                await self._flush()
                await self._give_back()

    # -- one platform -------------------------------------------------------
    async def _lane(self, lane: _Lane) -> None:
        slots = asyncio.Semaphore(MAX_IN_FLIGHT)
        try:
            while True:
                messenger = self.messengers.get(lane.platform)
                seen = self._pass
                try:
                    units = await self._claim_units(lane.platform, messenger) if messenger else []
                except Exception as exc:  # the database is away for a moment: try again
                    log.warning("outbox claim on %s failed: %s", lane.platform, type(exc).__name__)
                    units = []
                if not units:
                    if not lane.tasks:
                        lane.quiet_pass = seen
                    lane.event.clear()
                    # Not asyncio.wait_for: on Python 3.11 it swallows a cancellation that
                    # arrives as the event is set (a wake racing a stop), and the lane
                    # would then run on with its worker waiting for it for ever.
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self.poll_seconds):
                            await lane.event.wait()
                    continue
                assert messenger is not None
                for unit in units:
                    await slots.acquire()
                    task = asyncio.create_task(self._dispatch(lane, messenger, unit))
                    lane.tasks[task] = unit
                    task.add_done_callback(partial(self._done, lane, slots))
        except asyncio.CancelledError:
            await self._drain(lane)
            raise

    @staticmethod
    def _done(lane: _Lane, slots: asyncio.Semaphore, task: asyncio.Task[None]) -> None:
        lane.tasks.pop(task, None)
        slots.release()

    async def _drain(self, lane: _Lane) -> None:
        """Let calls already with the platform finish; the rest were never sent."""
        self._stopping = True
        for task in list(lane.tasks):
            if task not in lane.delivering:
                task.cancel()
        if lane.tasks:
            _, late = await asyncio.wait(list(lane.tasks), timeout=DRAIN_SECONDS)
            for task in late:
                self._ambiguous.update(row.id for row in lane.tasks.get(task, Unit([])).rows)
                task.cancel()
            await asyncio.gather(*lane.tasks, return_exceptions=True)

    async def _dispatch(self, lane: _Lane, messenger: Messenger, unit: Unit) -> None:
        cost = 1 if unit.grouped else max(len(unit.rows[0].body), 1)
        # A place that frees within HAND_AHEAD: handed_at commits meanwhile, not inside it.
        ticket = await lane.limiter.acquire(cost, ahead=HAND_AHEAD)
        if self._stopping:
            lane.limiter.release(ticket)
            return
        try:
            # Committed before the call: after a crash this row is known to be in doubt.
            await self._hand([row.id for row in unit.rows])
            await lane.limiter.turn(ticket)
        except BaseException:
            lane.limiter.release(ticket)
            raise
        if self._stopping:
            lane.limiter.release(ticket)
            return
        task = asyncio.current_task()
        assert task is not None
        lane.delivering.add(task)
        try:
            results = await self._call(messenger, unit)
        finally:
            # the window counts the send until it completed: see ratelimit.py
            lane.limiter.release(ticket)
            lane.delivering.discard(task)
        now = self.now()
        written: list[asyncio.Future[None]] = []
        for row in unit.rows:
            result = results.get(row.user_id) or DeliveryResult(
                Outcome.TRANSIENT, reason="no result"
            )
            if result.outcome is Outcome.RATE_LIMITED:
                lane.limiter.pause(result.retry_after or 1.0)
            written.append(self._record(settle(row, result, now)))
        # The slot stays taken until the outcome is committed: that bounds what a crash
        # can leave in doubt by MAX_IN_FLIGHT.
        await asyncio.gather(*written)

    @staticmethod
    async def _call(messenger: Messenger, unit: Unit) -> dict[str, DeliveryResult]:
        try:
            if unit.grouped:
                replies = unit.rows[0].replies
                return dict(
                    await messenger.deliver_many([row.user_id for row in unit.rows], replies[0])
                )
            row = unit.rows[0]
            return {row.user_id: await messenger.deliver(row.user_id, row.replies)}
        except Exception as exc:  # an adapter bug or the network: try again later
            log.warning("send on %s raised %s", messenger.platform, type(exc).__name__)
            reason = f"error:{type(exc).__name__}"
            return {
                row.user_id: DeliveryResult(Outcome.TRANSIENT, reason=reason) for row in unit.rows
            }

    # -- claiming -------------------------------------------------------------
    def _claim_size(self, platform: str, messenger: Messenger) -> int:
        if self.batch_rows:
            return self.batch_rows
        per_call = max(messenger.max_batch, 1)
        wanted = math.ceil(rate_for(self.settings, platform) * CLAIM_SECONDS) * per_call
        return max(1, min(wanted, MAX_CLAIM_ROWS))

    async def claim(self, platform: str, limit: int) -> list[Claimed]:
        """Take up to `limit` due rows for `platform`; they are ours until the lease ends."""
        now = self.now()
        due = or_(
            and_(Q.state == "pending", Q.not_before <= now),
            and_(Q.state == "sending", Q.lease_until < now),
        )
        async with self.db.transaction() as session:
            pick = (
                select(Q.id)
                .join(Person, Person.id == Q.person_id)
                .where(Person.platform == platform, due)
                .order_by(Q.not_before, Q.id)
                .limit(limit)
            )
            # A messenger that reaches only some people (a terminal chat serves the one
            # person at its keyboard) must not take the others' rows and mark them sent.
            only = getattr(self.messengers.get(platform), "only_users", None)
            if only is not None:
                pick = pick.where(Person.platform_user_id.in_(sorted(only)))
            if session.get_bind().dialect.name == "postgresql":
                pick = pick.with_for_update(of=Q, skip_locked=True)
            candidates = list(await session.scalars(pick))
            if not candidates:
                return []
            taken = await session.execute(
                update(Q)
                .where(Q.id.in_(candidates), due)
                .values(
                    state="sending",
                    lease_until=now + self.lease,
                    # Handed to the platform by a process that died before the answer:
                    # sent again, and reported as possibly delivered twice.
                    maybe_twice=or_(Q.maybe_twice, Q.handed_at.is_not(None)),
                    handed_at=None,
                )
                .returning(Q.id)
                .execution_options(synchronize_session=False)
            )
            ids = [row_id for (row_id,) in taken]
            rows = await self._load(session, ids)
        self._held.update(row.id for row in rows)
        return rows

    @staticmethod
    async def _load(session: AsyncSession, ids: Sequence[int]) -> list[Claimed]:
        if not ids:
            return []
        result = await session.execute(
            select(
                Q.id,
                Q.person_id,
                Person.platform,
                Person.platform_user_id,
                Q.kind,
                Q.body,
                Q.announcement_id,
                Q.attempts,
                Person.announcements,
                Person.reachable,
                Person.subscribed,
                Person.locale,
                Q.not_before,
                Q.not_after,
            )
            .join(Person, Person.id == Q.person_id)
            .where(Q.id.in_(ids))
            .order_by(Q.not_before, Q.id)
        )
        return [
            Claimed(
                id=r.id,
                person_id=r.person_id,
                platform=r.platform,
                user_id=r.platform_user_id,
                kind=r.kind,
                # the language the person uses now, not when the message was queued
                body=body_for(r.body, r.locale),
                announcement_id=r.announcement_id,
                attempts=r.attempts,
                wants_announcements=r.announcements,
                reachable=r.reachable and r.subscribed,
                not_before=r.not_before,
                not_after=r.not_after,
            )
            for r in result
        ]

    async def _claim_units(self, platform: str, messenger: Messenger) -> list[Unit]:
        rows = await self.claim(platform, self._claim_size(platform, messenger))
        if not rows:
            return []
        now = self.now()
        # Timed work (a row with an end, like a reminder): how late it starts against its plan.
        planned = [r.not_before for r in rows if r.not_after is not None and r.not_before]
        if planned:
            self.metrics.scheduler_lag.set(max((now - min(planned)).total_seconds(), 0.0))
        cancelled = await self._cancelled_announcements({r.announcement_id for r in rows})
        units: list[Unit] = []
        groups: dict[tuple[int, str], list[Claimed]] = {}
        for row in rows:
            if row.not_after is not None and now > row.not_after:
                self._record(Settled(row, "skipped", "skipped", row.attempts, "expired"))
                continue
            if row.announcement_id is not None:
                if row.announcement_id in cancelled:
                    self._record(Settled(row, "cancelled", "cancelled", row.attempts, "cancelled"))
                    continue
                # Opting out or blocking the bot after the audience was chosen still counts.
                if not row.wants_announcements or not row.reachable:
                    why = "opted_out" if not row.wants_announcements else "unreachable"
                    self._record(Settled(row, "skipped", "skipped", row.attempts, why))
                    continue
                if messenger.max_batch > 1 and len(row.body) == 1:
                    key = (row.announcement_id, json.dumps(row.body, sort_keys=True))
                    groups.setdefault(key, []).append(row)
                    continue
            if not row.body:
                self._record(Settled(row, "failed", "failed", row.attempts, "empty body"))
                continue
            units.append(Unit([row]))
        size = max(messenger.max_batch, 1)
        for members in groups.values():
            for start in range(0, len(members), size):
                units.append(Unit(members[start : start + size], grouped=True))
        return units

    async def _cancelled_announcements(self, ids: Iterable[int | None]) -> set[int]:
        wanted = {i for i in ids if i is not None}
        if not wanted:
            return set()
        async with self.db.transaction() as session:
            found = await session.scalars(
                select(Announcement.id).where(
                    Announcement.id.in_(wanted), Announcement.state == "cancelled"
                )
            )
            return set(found)

    # -- recording --------------------------------------------------------------
    def _record(self, settled: Settled) -> asyncio.Future[None]:
        """Queue an outcome for the next write; the future resolves once it is committed."""
        self._counter.labels(settled.row.platform, settled.result).inc()
        written = asyncio.get_running_loop().create_future()
        self._results.append(settled)
        self._written.append(written)
        self._dirty.set()
        return written

    async def _hand(self, ids: list[int]) -> None:
        """Commit `handed_at` on these rows (with others waiting at the same moment)."""
        handed = asyncio.get_running_loop().create_future()
        self._handing.extend(ids)
        self._handed.append(handed)
        self._dirty.set()
        await asyncio.shield(handed)  # a cancelled sender must not undo the others' write

    async def _flush_loop(self) -> None:
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            try:
                await self._flush()
            except Exception as exc:  # the database is away: keep the results, try again
                log.warning("outbox flush failed: %s", type(exc).__name__)
                await asyncio.sleep(FLUSH_SECONDS)
                self._dirty.set()

    async def _flush(self) -> None:
        async with self._flush_lock:
            if not self._results and not self._handing:
                return
            batch, self._results = self._results, []
            written, self._written = self._written, []
            handing, self._handing = self._handing, []
            handed, self._handed = self._handed, []
            try:
                async with self.db.transaction() as session:
                    if handing:
                        await mark_handed(session, handing, self.now())
                    await write_outcomes(session, batch)
                    for hook in self.settle_hooks:
                        await hook(session, batch, self.now())
            except BaseException:
                self._results[:0] = batch
                self._written[:0] = written
                self._handing[:0] = handing
                self._handed[:0] = handed
                raise
            for settled in batch:
                self._held.discard(settled.row.id)
            for future in (*written, *handed):
                if not future.done():
                    future.set_result(None)

    async def _give_back(self) -> None:
        """Rows we claimed but never handed to the platform go back to the queue now."""
        unsent = list(self._held - self._ambiguous)
        if not unsent:
            return
        async with self.db.transaction() as session:
            await session.execute(
                update(Q)
                .where(Q.id.in_(unsent), Q.state == "sending")
                .values(state="pending", lease_until=None, handed_at=None)
                .execution_options(synchronize_session=False)
            )
        self._held.difference_update(unsent)

    async def _lease_loop(self) -> None:
        """Keep our leases fresh so nobody reclaims rows we still hold (say, during a 429)."""
        while True:
            await asyncio.sleep(self.lease.total_seconds() / 3)
            held = list(self._held)
            if not held:
                continue
            try:
                until = self.now() + self.lease
                async with self.db.transaction() as session:
                    for start in range(0, len(held), 1000):
                        await session.execute(
                            update(Q)
                            .where(Q.id.in_(held[start : start + 1000]), Q.state == "sending")
                            .values(lease_until=until)
                            .execution_options(synchronize_session=False)
                        )
            except Exception as exc:
                log.warning("outbox lease renewal failed: %s", type(exc).__name__)

    async def _report_depth(self) -> None:
        with contextlib.suppress(Exception):
            self.metrics.outbox_depth.set(await outbox_depth(self.db))


async def outbox_depth(db: Database) -> int:
    async with db.transaction() as session:
        count = await session.scalar(
            select(func.count()).select_from(Q).where(Q.state.in_(("pending", "sending")))
        )
    return int(count or 0)


_WRITE = (
    update(Q.__table__)  # type: ignore[arg-type]
    .where(Q.__table__.c.id == bindparam("row_id"), Q.__table__.c.state == "sending")
    .values(
        state=bindparam("new_state"),
        attempts=bindparam("new_attempts"),
        reason=bindparam("new_reason"),
        sent_at=bindparam("new_sent_at", type_=UTCDateTime()),
        not_before=func.coalesce(
            bindparam("new_not_before", type_=UTCDateTime()), Q.__table__.c.not_before
        ),
        lease_until=None,
        handed_at=None,
    )
)


async def mark_handed(session: AsyncSession, ids: Sequence[int], now: datetime) -> None:
    for start in range(0, len(ids), 1000):
        await session.execute(
            update(Q)
            .where(Q.id.in_(ids[start : start + 1000]), Q.state == "sending")
            .values(handed_at=now)
            .execution_options(synchronize_session=False)
        )


async def write_outcomes(session: AsyncSession, batch: Sequence[Settled]) -> None:
    sent = [s for s in batch if s.state == "sent"]
    others = [s for s in batch if s.state != "sent"]
    # Nearly everything is "sent": one statement for all of them (their send times
    # are at most a flush interval apart, so they share the latest).
    for start in range(0, len(sent), 1000):
        chunk = sent[start : start + 1000]
        await session.execute(
            update(Q)
            .where(Q.id.in_([s.row.id for s in chunk]), Q.state == "sending")
            .values(
                state="sent",
                sent_at=max(s.sent_at for s in chunk if s.sent_at),
                attempts=Q.attempts + 1,
                reason="",
                lease_until=None,
                handed_at=None,
            )
            .execution_options(synchronize_session=False)
        )
    by_ref: dict[str, list[int]] = {}
    for s in sent:
        if s.ref:
            by_ref.setdefault(s.ref, []).append(s.row.id)
    for ref, ids in by_ref.items():  # a Viber broadcast shares one token among its rows
        await session.execute(
            update(Q)
            .where(Q.id.in_(ids))
            .values(platform_ref=ref)
            .execution_options(synchronize_session=False)
        )
    if others:
        await session.execute(
            _WRITE,
            [
                {
                    "row_id": s.row.id,
                    "new_state": s.state,
                    "new_attempts": s.attempts,
                    "new_reason": s.reason,
                    "new_sent_at": s.sent_at,
                    "new_not_before": s.retry_at,
                }
                for s in others
            ],
        )
    people = People(session)
    for s in batch:
        if s.state != "blocked":
            continue
        # Viber says "not subscribed"; Telegram says the person blocked the bot.
        if s.row.platform == "viber" or "subscri" in s.reason.lower():
            await people.mark_unsubscribed(s.row.platform, s.row.user_id)
        else:
            await people.mark_unreachable(s.row.platform, s.row.user_id)
