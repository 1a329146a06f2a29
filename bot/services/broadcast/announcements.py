"""Create, queue, release and cancel announcements; every step goes to the audit log.

The recipients are chosen when sending starts (now, or when a scheduled time
comes), so people who joined or opted out meanwhile are treated as they are
then. Each recipient is one outbox row with the dedupe key
``announcement:<id>:<person id>``, queued like `bot.delivery.outbox.enqueue`
does but many rows per statement: queueing twice sends once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery.outbox import localized_body
from bot.i18n import LANGUAGES
from bot.services.broadcast.audience import Audience, Reach, recipients
from bot.services.broadcast.message import MAX_TEXT, citizen_reply, clean_text
from bot.services.broadcast.progress import counts, finish_if_done
from storage.db import mark_enqueued
from storage.models import OutboxMessage
from storage.models.broadcast import Announcement
from storage.repositories import AuditLog

KIND = "announcement"
ANALYZE_AFTER = 1000
QUEUE_CHUNK = 500  # rows per INSERT: well inside SQLite's limit of bound values


class AnnouncementError(ValueError):
    """Something the author can fix (empty or too long text)."""


@dataclass(frozen=True, slots=True)
class Draft:
    text_uk: str
    text_en: str
    audience: Audience

    @classmethod
    def of(cls, text_uk: str, text_en: str, audience: Audience) -> Draft:
        uk, en = clean_text(text_uk), clean_text(text_en)
        if not uk and not en:
            raise AnnouncementError("the announcement has no text")
        if max(len(uk), len(en)) > MAX_TEXT:
            raise AnnouncementError(f"the text is longer than {MAX_TEXT} characters")
        return cls(uk, en, audience)

    @property
    def single_language(self) -> str | None:
        """ "uk" or "en" when only that text was written (everyone then gets it)."""
        if self.text_uk and self.text_en:
            return None
        return "uk" if self.text_uk else "en"


async def create(
    session: AsyncSession,
    draft: Draft,
    *,
    author: str,
    author_person_id: int | None,
    now: datetime,
    default_locale: str,
    reach: Reach,
    scheduled_at: datetime | None = None,
) -> Announcement:
    """Record the announcement and, unless it is scheduled, queue it for everyone now."""
    announcement = Announcement(
        author=author,
        author_person_id=author_person_id,
        text_uk=draft.text_uk,
        text_en=draft.text_en,
        audience=draft.audience.code,
        state="scheduled" if scheduled_at else "sending",
        created_at=now,
        scheduled_at=scheduled_at,
    )
    session.add(announcement)
    await session.flush()
    await AuditLog(session).record(
        author,
        "announcement.scheduled" if scheduled_at else "announcement.queued",
        announcement_id=announcement.id,
        audience=draft.audience.code,
        text_uk=draft.text_uk,
        text_en=draft.text_en,
        scheduled_at=scheduled_at.isoformat() if scheduled_at else None,
        **reach.as_dict(),
    )
    if not scheduled_at:
        await queue_recipients(session, announcement, now=now, default_locale=default_locale)
    return announcement


async def queue_recipients(
    session: AsyncSession, announcement: Announcement, *, now: datetime, default_locale: str
) -> int:
    audience = Audience.parse(announcement.audience)
    # Both versions travel in every row: the worker sends the one in the language
    # the person uses when it goes out (outbox.body_for).
    bodies = {
        language: localized_body(
            citizen_reply(language, announcement.text_uk, announcement.text_en),
            lambda tr: citizen_reply(tr.language, announcement.text_uk, announcement.text_en),
        )
        for language in LANGUAGES
    }
    people = (await session.execute(recipients(audience, default_locale))).all()
    rows = [
        {
            "person_id": person_id,
            "kind": KIND,
            "dedupe_key": f"announcement:{announcement.id}:{person_id}",
            "announcement_id": announcement.id,
            "body": bodies.get(language, bodies[default_locale]),
            "state": "pending",
            "attempts": 0,
            "not_before": now,
            "reason": "",
            "created_at": now,
        }
        for person_id, language in people
    ]
    queued = 0
    for start in range(0, len(rows), QUEUE_CHUNK):
        queued += await _insert_new(session, rows[start : start + QUEUE_CHUNK])
    announcement.recipients += queued
    announcement.started_at = announcement.started_at or now
    if queued >= ANALYZE_AFTER and session.get_bind().dialect.name == "postgresql":
        # Thousands of new rows at once: without fresh statistics the planner picks a
        # nested loop for the worker's claim (seconds per claim) until autovacuum notices.
        await session.execute(text("ANALYZE outbox, people"))
    if not queued:  # nobody to send to: finished right away, with its report
        await finish_if_done(session, [announcement.id], now)
    return queued


async def _insert_new(session: AsyncSession, rows: list[dict[str, Any]]) -> int:
    """`outbox.enqueue` for many rows in one statement (thousands of recipients at once)."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    result = await session.execute(
        insert(OutboxMessage)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(OutboxMessage.id),
        rows,
    )
    queued = len(result.all())
    if queued:
        mark_enqueued(session)
    return queued


async def release(
    session: AsyncSession, announcement_id: int, *, now: datetime, default_locale: str
) -> bool:
    """A scheduled announcement's time has come. Idempotent: only the first caller queues."""
    taken = await session.execute(
        update(Announcement)
        .where(Announcement.id == announcement_id, Announcement.state == "scheduled")
        .values(state="sending", started_at=now)
        .execution_options(synchronize_session=False)
    )
    if not taken.rowcount:  # type: ignore[attr-defined]
        return False
    announcement = await session.get(Announcement, announcement_id, populate_existing=True)
    assert announcement is not None
    n = await queue_recipients(session, announcement, now=now, default_locale=default_locale)
    await AuditLog(session).record(
        announcement.author, "announcement.released", announcement_id=announcement_id, recipients=n
    )
    return True


async def cancel(
    session: AsyncSession, announcement_id: int, *, actor: str, now: datetime
) -> Announcement | None:
    """Stop it: nothing not yet handed to a platform is sent. Idempotent."""
    announcement = await session.get(Announcement, announcement_id)
    if announcement is None or announcement.state in ("done", "cancelled"):
        return announcement
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.announcement_id == announcement_id, OutboxMessage.state == "pending")
        .values(state="cancelled", reason="cancelled")
        .execution_options(synchronize_session=False)
    )
    announcement.state = "cancelled"
    announcement.finished_at = now
    c = await counts(session, announcement_id)
    announcement.sent, announcement.failed, announcement.blocked = c.sent, c.failed, c.blocked
    announcement.skipped, announcement.cancelled = c.skipped, c.cancelled
    await AuditLog(session).record(
        actor,
        "announcement.cancelled",
        announcement_id=announcement_id,
        sent=c.sent,
        cancelled=c.cancelled,
        in_flight=c.remaining,
    )
    return announcement


async def get(session: AsyncSession, announcement_id: int) -> Announcement | None:
    return await session.get(Announcement, announcement_id, populate_existing=True)


async def recent(session: AsyncSession, limit: int = 5) -> list[Announcement]:
    rows = await session.scalars(
        select(Announcement).order_by(Announcement.id.desc()).limit(limit)
    )
    return list(rows)


async def due_scheduled(session: AsyncSession) -> list[tuple[int, datetime]]:
    rows = await session.execute(
        select(Announcement.id, Announcement.scheduled_at).where(Announcement.state == "scheduled")
    )
    return [(i, at) for i, at in rows if at is not None]
