"""How far an announcement has got, when it will end, and closing it when nothing is left."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery.outbox import enqueue
from bot.engine.events import Reply
from bot.i18n import Translator, translator
from bot.settings import Settings
from storage.models import OutboxMessage, Person
from storage.models.broadcast import Announcement
from storage.models.viber import ViberReceipt
from storage.repositories import AuditLog

Q = OutboxMessage
VIBER_BATCH = 300  # receivers per broadcast_message call


@dataclass(frozen=True, slots=True)
class Counts:
    sent: int = 0
    failed: int = 0
    blocked: int = 0
    skipped: int = 0
    cancelled: int = 0
    remaining: int = 0  # pending or being sent
    #: Viber receipts for this announcement's messages (they arrive later, by callback)
    viber_delivered: int = 0
    viber_seen: int = 0
    #: of `sent`: sent again after a crash left them in doubt (the person may have two)
    maybe_twice: int = 0

    @property
    def total(self) -> int:
        return (
            self.sent + self.failed + self.blocked + self.skipped + self.cancelled + self.remaining
        )

    @property
    def not_delivered(self) -> int:
        return self.failed + self.blocked


async def counts(session: AsyncSession, announcement_id: int) -> Counts:
    rows = await session.execute(
        select(Q.state, func.count()).where(Q.announcement_id == announcement_id).group_by(Q.state)
    )
    by_state = {state: int(n) for state, n in rows}
    maybe_twice = await session.scalar(
        select(func.count()).where(
            Q.announcement_id == announcement_id, Q.state == "sent", Q.maybe_twice.is_(True)
        )
    )
    tokens = (
        select(Q.platform_ref)
        .where(Q.announcement_id == announcement_id, Q.platform_ref.is_not(None))
        .scalar_subquery()
    )
    receipts = await session.execute(
        select(ViberReceipt.event, func.count(func.distinct(ViberReceipt.receiver_key)))
        .where(ViberReceipt.message_token.in_(tokens))
        .group_by(ViberReceipt.event)
    )
    by_event = {event: int(n) for event, n in receipts}
    return Counts(
        viber_delivered=by_event.get("delivered", 0),
        viber_seen=by_event.get("seen", 0),
        sent=by_state.get("sent", 0),
        failed=by_state.get("failed", 0),
        blocked=by_state.get("blocked", 0),
        skipped=by_state.get("skipped", 0),
        cancelled=by_state.get("cancelled", 0),
        remaining=by_state.get("pending", 0) + by_state.get("sending", 0),
        maybe_twice=int(maybe_twice or 0),
    )


async def eta_seconds(session: AsyncSession, announcement_id: int, settings: Settings) -> float:
    """From what is left on each platform and its rate limit (platforms send in parallel)."""
    rows = await session.execute(
        select(Person.platform, func.count())
        .select_from(Q)
        .join(Person, Person.id == Q.person_id)
        .where(Q.announcement_id == announcement_id, Q.state.in_(("pending", "sending")))
        .group_by(Person.platform)
    )
    longest = 0.0
    for platform, left in rows:
        if platform == "viber":
            seconds = math.ceil(left / VIBER_BATCH) / settings.viber_rate_limit
        else:
            seconds = left / settings.telegram_rate_limit
        longest = max(longest, seconds)
    return longest


def _store(announcement: Announcement, c: Counts) -> None:
    announcement.sent, announcement.failed = c.sent, c.failed
    announcement.blocked, announcement.skipped = c.blocked, c.skipped
    announcement.cancelled = c.cancelled


async def finish_if_done(session: AsyncSession, ids: Iterable[int], now: datetime) -> bool:
    """Close every announcement with nothing left to send; True if a report was queued.

    Several workers may finish the same announcement at once: the conditional
    UPDATE lets exactly one of them write the audit entry and the report.
    """
    queued = False
    for announcement in await session.scalars(
        select(Announcement).where(
            Announcement.id.in_(list(ids)), Announcement.state.in_(("sending", "cancelled"))
        )
    ):
        c = await counts(session, announcement.id)
        if c.remaining:
            continue
        if announcement.state == "cancelled":
            _store(announcement, c)  # sends that were already under way are counted too
            continue
        closed = await session.execute(
            update(Announcement)
            .where(Announcement.id == announcement.id, Announcement.state == "sending")
            .values(state="done", finished_at=now)
            .execution_options(synchronize_session=False)
        )
        if not closed.rowcount:  # type: ignore[attr-defined]
            continue
        announcement.state, announcement.finished_at = "done", now
        _store(announcement, c)
        await AuditLog(session).record(
            announcement.author,
            "announcement.delivered",
            announcement_id=announcement.id,
            recipients=announcement.recipients,
            sent=c.sent,
            failed=c.failed,
            blocked=c.blocked,
            skipped=c.skipped,
            cancelled=c.cancelled,
        )
        queued = await queue_report(session, announcement, c, now) or queued
    return queued


def report_text(tr: Translator, announcement: Announcement, c: Counts) -> str:
    lines = [
        tr._("Recipients: {n}", n=c.total),
        tr._("Delivered: {n}", n=c.sent - c.maybe_twice),
        tr._(
            "Not delivered: {n} (blocked the bot: {blocked})", n=c.not_delivered, blocked=c.blocked
        ),
        tr._("Skipped, switched announcements off meanwhile: {n}", n=c.skipped),
    ]
    if c.maybe_twice:
        lines.append(
            tr._("Possibly delivered twice (sent again after a restart): {n}", n=c.maybe_twice)
        )
    if c.cancelled:
        lines.append(tr._("Not sent, cancelled: {n}", n=c.cancelled))
    if c.remaining:
        lines.append(tr._("Still to send: {n}", n=c.remaining))
    return "\n".join(lines)


async def queue_report(
    session: AsyncSession, announcement: Announcement, c: Counts, now: datetime
) -> bool:
    """The final report, to the staff member's chat (if they wrote it in a chat)."""
    if announcement.author_person_id is None:
        return False
    author = await session.get(Person, announcement.author_person_id)
    if author is None:
        return False

    def render(tr: Translator) -> Reply:
        return Reply(
            text=report_text(tr, announcement, c),
            title=tr._("Announcement #{id}: delivery finished", id=announcement.id),
        )

    return await enqueue(
        session,
        person_id=author.id,
        kind="report",
        dedupe_key=f"announcement-report:{announcement.id}",
        replies=render(translator(author.locale or "uk")),
        translations=render,
        not_before=now,
    )
