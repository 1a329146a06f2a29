"""STAFF_CHAT_ID: each new case is posted to a Telegram group of staff; a reply answers it.

The post carries the case number, topic, language, messenger and the question
(not the phone number or the shared details: those are read in the bot's
private chat, where every read is audited), so the group must hold staff only.
A staff member (in STAFF_IDS) who replies to the post answers the person, as if
they had taken the case and pressed Reply; anyone else's reply is refused.

The post is sent once the case is committed, straight through the Telegram
messenger, not the outbox: the outbox delivers to people, and a group is not one.
If the post fails, the case is still in the Staff menu's list.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy import select, update

from bot.delivery.worker import wake
from bot.engine.events import Reply
from bot.i18n import translator
from bot.services.cases import service
from storage.models.cases import CLOSED, Case
from storage.repositories import People, ProcessedEvents

if TYPE_CHECKING:
    from bot.engine import Context
    from bot.wiring import App

log = logging.getLogger(__name__)


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


async def post_new_case(ctx: Context, case: Case) -> None:
    """After the commit, post the case to STAFF_CHAT_ID, when that is set."""
    settings = ctx.runtime.settings
    if settings.staff_chat_id is None:
        return
    reply = post_text(
        case,
        question=str(ctx.data.get("text") or ""),
        platform=ctx.person.platform,
        language=ctx.language,
        tr_language=settings.default_locale,
    )
    case_id = case.id

    async def post() -> None:
        from bot.scheduler import current_app

        try:
            app = current_app()
        except RuntimeError:  # no services in this process (the terminal chat)
            return
        await send_post(app, case_id, reply)

    ctx.after_commit(post)


async def send_post(app: App, case_id: int, reply: Reply) -> None:
    messenger = app.messengers.get("telegram")
    send_editable = getattr(messenger, "send_editable", None)
    if send_editable is None or app.settings.staff_chat_id is None:
        return
    ref = await send_editable(str(app.settings.staff_chat_id), reply)
    if ref is None:
        log.warning("case %d: posting to STAFF_CHAT_ID failed", case_id)
        return
    async with app.db.transaction() as session:
        await session.execute(
            update(Case)
            .where(Case.id == case_id)
            .values(staff_post=str(ref))
            .execution_options(synchronize_session=False)
        )


async def answer_from_staff_chat(
    app: App, *, update_id: str, post: str, user_id: str, text: str
) -> str | None:
    """A reply in the staff group to a case post; returns what to tell the group, if anything."""
    settings = app.settings
    staff = f"telegram:{user_id}"
    now = app.runtime.now()
    text = service.clean_text(text)
    async with app.db.transaction() as session:
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
    wake()
    return tr._("Sent to the person (case {code}).", code=code)
