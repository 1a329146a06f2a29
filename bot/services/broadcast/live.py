"""Progress for the author: the text, and the one chat message that keeps it current.

The engine answers events; it has no notion of changing a message it sent
earlier. A live progress message therefore goes around it: a messenger that
can edit implements `EditableMessenger`, and `tick` (run every second by the
announcements service) sends the author ONE progress message and edits it at
most every `EDIT_SECONDS`, then a last time with the final numbers. Where the
author's platform cannot edit (Viber, the terminal), the staff dialog's
"Refresh" button shows the same text, and the final report arrives as a
message through the outbox.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from sqlalchemy import or_, select, update

from bot.delivery.messenger import DeliveryResult
from bot.engine.events import Reply
from bot.i18n import Translator, translator
from bot.services.broadcast.progress import Counts, counts, eta_seconds
from storage.models import Person
from storage.models.broadcast import Announcement

if TYPE_CHECKING:
    from bot.delivery import Messengers
    from bot.settings import Settings
    from storage.db import Database

log = logging.getLogger(__name__)

EDIT_SECONDS = 5.0
FINAL_MARK = "done:"


@runtime_checkable
class EditableMessenger(Protocol):
    """A messenger that can change a message it sent (Telegram editMessageText)."""

    platform: str

    async def send_editable(self, user_id: str, reply: Reply) -> str | None:
        """Send `reply`; return a reference to edit it later (None if it failed)."""
        ...

    async def edit(self, user_id: str, ref: str, reply: Reply) -> DeliveryResult: ...


def eta_text(tr: Translator, seconds: float) -> str:
    if seconds < 60:
        return tr._("less than a minute")
    minutes = math.ceil(seconds / 60)
    return tr.n_("about {n} minute", "about {n} minutes", minutes)


def progress_text(tr: Translator, announcement: Announcement, c: Counts, eta: float) -> str:
    states = {
        "scheduled": tr._("scheduled for {when}", when=tr.datetime(announcement.scheduled_at))
        if announcement.scheduled_at
        else tr._("scheduled"),
        "sending": tr._("sending"),
        "done": tr._("finished"),
        "cancelled": tr._("cancelled"),
    }
    lines = [
        tr._(
            "Announcement #{id}: {state}",
            id=announcement.id,
            state=states.get(announcement.state, announcement.state),
        )
    ]
    if announcement.state != "scheduled":
        lines += [
            tr._("Sent: {sent} of {total}", sent=c.sent, total=c.total),
            tr._("Not delivered: {n}", n=c.not_delivered),
            tr._("Skipped (switched off meanwhile): {n}", n=c.skipped),
            tr._("Remaining: {n}", n=c.remaining),
        ]
        if c.cancelled:
            lines.append(tr._("Not sent, cancelled: {n}", n=c.cancelled))
        if c.viber_delivered or c.viber_seen:
            lines.append(
                tr._("Viber: delivered {d}, seen {s}", d=c.viber_delivered, s=c.viber_seen)
            )
        if announcement.state == "sending" and c.remaining:
            lines.append(tr._("Time left: {eta}", eta=eta_text(tr, eta)))
    return "\n".join(lines)


async def tick(db: Database, messengers: Messengers, settings: Settings, now: datetime) -> int:
    """Send or edit the authors' progress messages that are due; returns how many."""
    async with db.transaction() as session:
        rows = (
            await session.execute(
                select(Announcement, Person.platform, Person.platform_user_id, Person.locale)
                .join(Person, Person.id == Announcement.author_person_id)
                .where(
                    or_(
                        Announcement.state == "sending",
                        Announcement.progress_ref.is_not(None)
                        & Announcement.progress_ref.not_like(f"{FINAL_MARK}%")
                        & Announcement.state.in_(("done", "cancelled")),
                    )
                )
            )
        ).all()
    touched = 0
    for announcement, platform, user_id, locale in rows:
        messenger = messengers.get(platform)
        if not isinstance(messenger, EditableMessenger):
            continue
        final = announcement.state != "sending"
        last = announcement.progress_at
        if not final and last and now - last < timedelta(seconds=EDIT_SECONDS):
            continue
        async with db.transaction() as session:
            # Several processes tick: whoever moves progress_at on first does this update.
            same_as_read = (
                Announcement.progress_at.is_(None)
                if last is None
                else Announcement.progress_at == last
            )
            claimed = await session.execute(
                update(Announcement)
                .where(Announcement.id == announcement.id, same_as_read)
                .values(progress_at=now)
                .execution_options(synchronize_session=False)
            )
            if not claimed.rowcount:
                continue
            c = await counts(session, announcement.id)
            eta = await eta_seconds(session, announcement.id, settings)
        tr = translator(locale or settings.default_locale)
        reply = Reply(text=progress_text(tr, announcement, c, eta))
        ref = announcement.progress_ref
        try:
            if ref is None:
                ref = await messenger.send_editable(user_id, reply) or ""
            elif ref:
                await messenger.edit(user_id, ref, reply)
        except Exception as exc:  # progress is a courtesy: never let it stop anything
            log.warning("progress message on %s failed: %s", platform, type(exc).__name__)
            continue
        async with db.transaction() as session:
            await session.execute(
                update(Announcement)
                .where(Announcement.id == announcement.id)
                .values(progress_ref=f"{FINAL_MARK}{ref}" if final else ref)
                .execution_options(synchronize_session=False)
            )
        touched += 1
    return touched
