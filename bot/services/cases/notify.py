"""STAFF_CHAT_ID: each new case is posted to a Telegram group of staff; a reply answers it.

The post carries the case number, topic, language, messenger and the question
(not the phone number or the shared details: those are read in the bot's
private chat, where every read is audited), so the group must hold staff only.
A staff member (in STAFF_IDS) who replies to the post answers the person, as if
they had taken the case and pressed Reply; anyone else's reply is refused.

A new case is itself the work: the case row with no `staff_post` yet. The
staff-post service of a process with the Telegram messenger claims it (a
conditional UPDATE, so one process posts it), posts it straight through the
messenger (not the outbox: the outbox delivers to people, and a group is not
one) and records the post. Opening a case marks its transaction, so the commit
wakes the service at once (`Database.listen_outbox`); a poll catches the rest.
If the post fails, the case is still in the Staff menu's list.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.background import Background, Job
from bot.engine.events import Reply
from bot.i18n import translator
from bot.ports import Clock, due_now
from bot.services.cases import service
from storage.db import mark_enqueued
from storage.models import Person
from storage.models.cases import CLOSED, Case, CaseMessage
from storage.repositories import People, ProcessedEvents

if TYPE_CHECKING:
    from bot.delivery import Messengers
    from bot.settings import Settings
    from storage.db import Database

log = logging.getLogger(__name__)

#: a case opened longer ago (while no process could post) is not posted late
POST_WINDOW = timedelta(hours=1)
POLL_SECONDS = 5.0
#: `staff_post` of a case claimed by a process that is posting it (or whose post failed)
CLAIMED = ""


def post_text(case: Case, question: str, platform: str, language: str, tr_language: str) -> Reply:
    tr = translator(tr_language)
    return Reply(
        title=tr._("New case {code}", code=case.code),
        text="\n".join(
            [
                tr._(
                    "{topic} · {language} · {platform}",
                    topic=tr._(service.TOPICS.get(case.topic, case.topic)),
                    language=language,
                    platform=platform.capitalize(),
                ),
                "",
                question,
                "",
                tr._("Reply to this message to answer the person (staff only)."),
            ]
        ),
    )


async def post_new_case(session: AsyncSession, settings: Settings) -> None:
    """A case was opened in this transaction: once it commits, the staff group hears of it."""
    if settings.staff_chat_id is not None:
        mark_enqueued(session)


async def post_new_cases(
    db: Database, messengers: Messengers, settings: Settings, now: datetime
) -> int:
    """Post every recent case not posted yet to STAFF_CHAT_ID; returns how many."""
    messenger = messengers.get("telegram")
    send_editable = getattr(messenger, "send_editable", None)
    if send_editable is None or settings.staff_chat_id is None:
        return 0
    async with db.transaction() as session:
        waiting = list(
            await session.scalars(
                select(Case.id).where(
                    Case.staff_post.is_(None),
                    Case.state != CLOSED,
                    Case.created_at >= now - POST_WINDOW,
                )
            )
        )
    posted = 0
    for case_id in waiting:
        async with db.transaction() as session:
            claimed = await session.execute(
                update(Case)
                .where(Case.id == case_id, Case.staff_post.is_(None))
                .values(staff_post=CLAIMED)
                .execution_options(synchronize_session=False)
            )
            if not claimed.rowcount:  # type: ignore[attr-defined]
                continue  # another process has it
            reply = await _post_for(session, case_id, settings)
        if reply is None:
            continue
        ref = await send_editable(str(settings.staff_chat_id), reply)
        if ref is None:
            log.warning("case %d: posting to STAFF_CHAT_ID failed", case_id)
            continue
        async with db.transaction() as session:
            await session.execute(
                update(Case)
                .where(Case.id == case_id)
                .values(staff_post=str(ref))
                .execution_options(synchronize_session=False)
            )
        posted += 1
    return posted


async def _post_for(session: AsyncSession, case_id: int, settings: Settings) -> Reply | None:
    row = (
        await session.execute(
            select(Case, Person.platform, Person.locale)
            .join(Person, Person.id == Case.person_id)
            .where(Case.id == case_id)
        )
    ).first()
    if row is None:
        return None
    case, platform, locale = row
    question = await session.scalar(
        select(CaseMessage.text)
        .where(CaseMessage.case_id == case_id, CaseMessage.author == service.CITIZEN)
        .order_by(CaseMessage.id)
        .limit(1)
    )
    return post_text(
        case,
        question=question or "",
        platform=platform,
        language=locale or settings.default_locale,
        tr_language=settings.default_locale,
    )


class StaffPosts:
    """The background service: posts new cases when woken by a commit, or every poll."""

    def __init__(
        self,
        db: Database,
        messengers: Messengers,
        settings: Settings,
        clock: Clock,
        *,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self.db = db
        self.messengers = messengers
        self.settings = settings
        self.clock = clock
        self.poll_seconds = poll_seconds
        self._event = asyncio.Event()

    def wake(self, due: datetime | None = None) -> None:
        if due_now(due, self.clock()):  # a reminder queued for later is not a case
            self._event.set()

    async def run(self) -> None:
        self.db.listen_outbox(self)
        try:
            while True:
                self._event.clear()
                try:
                    await post_new_cases(self.db, self.messengers, self.settings, self.clock())
                except Exception as exc:  # the database or Telegram is away for a moment
                    log.warning("staff posts: %s", type(exc).__name__)
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a stop that
                # arrives with a wake (see the outbox worker's lanes).
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.poll_seconds):
                        await self._event.wait()
        finally:
            self.db.unlisten_outbox(self)


async def staff_posts(bg: Background) -> Job | None:
    if bg.settings.staff_chat_id is None:
        return None
    return StaffPosts(bg.db, bg.messengers, bg.settings, bg.clock).run


async def answer_from_staff_chat(
    db: Database,
    settings: Settings,
    now: datetime,
    *,
    update_id: str,
    post: str,
    user_id: str,
    text: str,
) -> str | None:
    """A reply in the staff group to a case post; returns what to tell the group, if anything."""
    staff = f"telegram:{user_id}"
    text = service.clean_text(text)
    async with db.transaction() as session:
        if not await ProcessedEvents(session).claim("telegram", update_id):
            return None  # redelivered: answered already
        case = await session.scalar(select(Case).where(Case.staff_post == post))
        if case is None:
            return None  # a reply to something else the bot said
        member = await People(session).find("telegram", user_id)
        tr = translator((member.locale if member else None) or settings.default_locale)
        if staff not in settings.staff_ids:
            return tr._("Only staff can answer cases.")
        if case.state == CLOSED:
            return tr._("Case {code} is closed.", code=case.code)
        if not text or len(text) > service.MAX_TEXT:
            return tr._(
                "Please answer with one text message of up to {limit} characters.",
                limit=service.MAX_TEXT,
            )
        if case.assignee != staff:
            await service.take(session, case.id, staff, settings.staff_ids, now)
        sent = await service.reply(
            session,
            case.id,
            staff,
            text,
            now,
            staff_ids=settings.staff_ids,
            default_locale=settings.default_locale,
        )
        if sent is None:
            return tr._("Case {code} is held by a colleague; nothing was sent.", code=case.code)
        code = case.code
    return tr._("Sent to the person (case {code}).", code=code)
