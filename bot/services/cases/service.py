"""Cases: open, add to, take, answer, hand back, close, rate.

Plain functions over one session; the caller owns the transaction. Every
answer and notice to a person goes through the outbox in the same transaction
as its cause, so it is sent exactly once, within the platform's rate limits,
and without the night-time wait (the person is waiting for it).

Staff are named as in STAFF_IDS ("viber:<id>"). Whether someone is staff is
checked against the settings on every action, so a staff member removed from
STAFF_IDS can do nothing more, and the cases they held can be taken by others.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery.outbox import Render, enqueue
from bot.engine.events import Button, Reply
from bot.engine.globals import open_payload
from bot.i18n import N_, Translator, translator
from bot.services.personal_data import Section, register_section
from storage.models import Person
from storage.models.cases import CLOSED, OPEN, TAKEN, Case, CaseMessage
from storage.repositories import AuditLog, People

#: topic code → its button label (translated where shown)
TOPICS = {
    "benefits": N_("💶 Benefits"),
    "status": N_("📄 Application status"),
    "booking": N_("📅 Appointment"),
    "other": N_("💬 Something else"),
}
CLOSE_REASONS = ("answered", "referred", "duplicate", "no_reply")
MAX_TEXT = 2000
MAX_MESSAGES = 50  # per case: a conversation longer than this is a call or a visit
#: how long after closing the one satisfaction question still stands
RATING_WINDOW = timedelta(days=14)
CODE_ALPHABET = "ACDEFHJKMNPRTUVWXY34679"  # no 0/O, 1/I/L, 5/S, 8/B lookalikes
CODE_LENGTH = 6
PHONE = re.compile(r"^\+?\d{7,15}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

CITIZEN = "citizen"
STAFF = "staff"


def clean_text(text: str) -> str:
    """What a person or staff member typed, without control characters or edge spaces."""
    return _CONTROL.sub("", text).strip()


def clean_phone(raw: str) -> str | None:
    digits = re.sub(r"[\s()\-]", "", raw or "")
    return digits if PHONE.match(digits) else None


async def _new_code(session: AsyncSession) -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if await session.scalar(select(Case.id).where(Case.code == code)) is None:
            return code


# -- the person's side -----------------------------------------------------------------


async def active_case(session: AsyncSession, person_id: int) -> Case | None:
    """The person's case that is not closed yet (there is at most one)."""
    return await session.scalar(
        select(Case)
        .where(Case.person_id == person_id, Case.state.in_((OPEN, TAKEN)))
        .order_by(Case.id.desc())
        .limit(1)
    )


async def open_case(
    session: AsyncSession,
    person: Person,
    *,
    topic: str,
    text: str,
    now: datetime,
    phone: str | None = None,
    context: dict[str, object] | None = None,
) -> Case:
    if topic not in TOPICS:
        raise ValueError(f"unknown topic {topic!r}")
    case = Case(
        code=await _new_code(session),
        person_id=person.id,
        topic=topic,
        state=OPEN,
        phone=phone,
        context=dict(context or {}),
        created_at=now,
        updated_at=now,
    )
    session.add(case)
    await session.flush()
    session.add(CaseMessage(case_id=case.id, author=CITIZEN, text=text, created_at=now))
    await AuditLog(session).record(
        CITIZEN, "case.opened", case=case.id, topic=topic, platform=person.platform
    )
    return case


async def message_count(session: AsyncSession, case_id: int) -> int:
    return int(
        await session.scalar(
            select(func.count()).select_from(CaseMessage).where(CaseMessage.case_id == case_id)
        )
        or 0
    )


async def add_citizen_message(
    session: AsyncSession,
    case: Case,
    text: str,
    now: datetime,
    *,
    staff_ids: frozenset[str],
    default_locale: str,
) -> bool:
    """Add to the person's open case; the staff member holding it is told, if still staff."""
    if case.state == CLOSED or await message_count(session, case.id) >= MAX_MESSAGES:
        return False
    message = CaseMessage(case_id=case.id, author=CITIZEN, text=text, created_at=now)
    session.add(message)
    case.updated_at = now
    await session.flush()
    if case.state == TAKEN and case.assignee in staff_ids:
        await _tell_staff(session, case, message, now, default_locale=default_locale)
    return True


async def _tell_staff(
    session: AsyncSession,
    case: Case,
    message: CaseMessage,
    now: datetime,
    *,
    default_locale: str,
) -> None:
    platform, _, user_id = (case.assignee or "").partition(":")
    staff_person = await People(session).find(platform, user_id)
    if staff_person is None:
        return

    def render(tr: Translator) -> Reply:
        return Reply(
            title=tr._("Case {code}: a new message", code=case.code),
            text=message.text,
            buttons=((Button(tr._("💬 Open my cases"), open_payload("staff_cases", "list")),),),
        )

    await _tell(session, staff_person, f"case-note:{message.id}", render, now, default_locale)


async def _tell(
    session: AsyncSession,
    person: Person,
    dedupe_key: str,
    render: Render,
    now: datetime,
    default_locale: str,
) -> None:
    """Queue a case message now (no quiet hours: the person is waiting for it), rendered
    again at sending time in the language the person uses then."""
    await enqueue(
        session,
        person_id=person.id,
        kind="case",
        dedupe_key=dedupe_key,
        replies=render(translator(person.locale or default_locale)),
        not_before=now,
        translations=render,
    )


async def close_by_citizen(session: AsyncSession, case: Case, now: datetime) -> bool:
    closed = await _close(session, case, now, reason="by_citizen", closed_by=CITIZEN)
    if closed:
        await AuditLog(session).record(CITIZEN, "case.closed", case=case.id, reason="by_citizen")
    return closed


async def _close(
    session: AsyncSession, case: Case, now: datetime, *, reason: str, closed_by: str
) -> bool:
    result = await session.execute(
        update(Case)
        .where(Case.id == case.id, Case.state != CLOSED)
        .values(
            state=CLOSED, close_reason=reason, closed_by=closed_by, closed_at=now, updated_at=now
        )
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    await session.refresh(case)
    return True


async def rating_due(session: AsyncSession, person_id: int, now: datetime) -> Case | None:
    """The latest closed case whose one satisfaction question is still unanswered."""
    return await session.scalar(
        select(Case)
        .where(
            Case.person_id == person_id,
            Case.state == CLOSED,
            Case.rated_at.is_(None),
            Case.closed_at >= now - RATING_WINDOW,
        )
        .order_by(Case.closed_at.desc(), Case.id.desc())
        .limit(1)
    )


async def rate(
    session: AsyncSession, case_id: int, person_id: int, rating: int | None, now: datetime
) -> bool:
    """Record the answer (or None: skipped) once; a second answer changes nothing."""
    if rating is not None and not 1 <= rating <= 5:
        raise ValueError("a rating is 1 to 5")
    result = await session.execute(
        update(Case)
        .where(
            Case.id == case_id,
            Case.person_id == person_id,
            Case.state == CLOSED,
            Case.rated_at.is_(None),
        )
        .values(rating=rating, rated_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


# -- the staff side --------------------------------------------------------------------


def _held_by_staff(staff_ids: frozenset[str]) -> object:
    """A held case whose holder is still staff (anyone else's is free to take)."""
    return Case.assignee.in_(sorted(staff_ids)) if staff_ids else Case.assignee.is_(None)


async def queue(
    session: AsyncSession, me: str, staff_ids: frozenset[str], limit: int = 20
) -> Sequence[Case]:
    """Cases waiting for someone, and mine, oldest first."""
    statement = (
        select(Case)
        .where(
            or_(
                Case.state == OPEN,
                (Case.state == TAKEN) & (Case.assignee == me),
                (Case.state == TAKEN) & ~_held_by_staff(staff_ids),  # type: ignore[operator]
            )
        )
        .order_by(Case.created_at, Case.id)
        .limit(limit)
    )
    return (await session.scalars(statement)).all()


async def get_case(session: AsyncSession, case_id: int) -> Case | None:
    return await session.get(Case, case_id)


async def messages(session: AsyncSession, case_id: int) -> Sequence[CaseMessage]:
    return (
        await session.scalars(
            select(CaseMessage).where(CaseMessage.case_id == case_id).order_by(CaseMessage.id)
        )
    ).all()


async def take(
    session: AsyncSession, case_id: int, staff: str, staff_ids: frozenset[str], now: datetime
) -> bool:
    """Take a case for oneself. One conditional UPDATE: of two staff at once, one wins."""
    if staff not in staff_ids:
        return False
    result = await session.execute(
        update(Case)
        .where(
            Case.id == case_id,
            or_(
                Case.state == OPEN,
                (Case.state == TAKEN) & ~_held_by_staff(staff_ids),  # type: ignore[operator]
            ),
        )
        .values(state=TAKEN, assignee=staff, taken_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    await AuditLog(session).record(staff, "case.taken", case=case_id)
    return True


async def _mine(
    session: AsyncSession, case_id: int, staff: str, staff_ids: frozenset[str], now: datetime
) -> Case | None:
    """The case, if `staff` is still staff and holds it; the row stays locked until the end."""
    if staff not in staff_ids:
        return None
    result = await session.execute(
        update(Case)
        .where(Case.id == case_id, Case.state == TAKEN, Case.assignee == staff)
        .values(updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return None
    case = await session.get(Case, case_id)
    if case is not None:
        await session.refresh(case)
    return case


async def reply(
    session: AsyncSession,
    case_id: int,
    staff: str,
    text: str,
    now: datetime,
    *,
    staff_ids: frozenset[str],
    default_locale: str,
    canned: str | None = None,
) -> Case | None:
    """Answer the person, on their messenger, in the words given. None: not this staff's case."""
    case = await _mine(session, case_id, staff, staff_ids, now)
    if case is None:
        return None
    message = CaseMessage(case_id=case.id, author=STAFF, staff=staff, text=text, created_at=now)
    session.add(message)
    if case.first_answer_at is None:
        case.first_answer_at = now
    await session.flush()
    person = await session.get(Person, case.person_id)
    if person is not None:

        def render(tr: Translator) -> Reply:
            return Reply(
                title=tr._("💬 Answer from a specialist (case {code})", code=case.code),
                text=text,
                buttons=(
                    (
                        Button(tr._("✍️ Reply"), open_payload("cases", "add")),
                        Button(tr._("✅ Close the case"), open_payload("cases", "close")),
                    ),
                ),
            )

        await _tell(session, person, f"case-msg:{message.id}", render, now, default_locale)
    details: dict[str, object] = {"case": case.id, "message": message.id}
    if canned:
        details["canned"] = canned
    await AuditLog(session).record(staff, "case.replied", **details)
    return case


async def hand_back(
    session: AsyncSession, case_id: int, staff: str, staff_ids: frozenset[str], now: datetime
) -> bool:
    case = await _mine(session, case_id, staff, staff_ids, now)
    if case is None:
        return False
    case.state, case.assignee, case.taken_at = OPEN, None, None
    await AuditLog(session).record(staff, "case.handed_back", case=case_id)
    return True


async def close_by_staff(
    session: AsyncSession,
    case_id: int,
    staff: str,
    reason: str,
    now: datetime,
    *,
    staff_ids: frozenset[str],
    default_locale: str,
) -> bool:
    """Close with a reason; the person is told and asked the one satisfaction question."""
    if reason not in CLOSE_REASONS:
        raise ValueError(f"unknown reason {reason!r}")
    case = await _mine(session, case_id, staff, staff_ids, now)
    if case is None or not await _close(session, case, now, reason=reason, closed_by=STAFF):
        return False
    person = await session.get(Person, case.person_id)
    if person is not None:

        def render(tr: Translator) -> Reply:
            return Reply(
                title=tr._("Case {code} is closed", code=case.code),
                text=tr._(
                    "A specialist has closed your case. How satisfied are you with the help? "
                    "1 — not at all, 5 — completely."
                ),
                buttons=(
                    tuple(Button(str(n), open_payload("cases", f"r{n}")) for n in range(1, 6)),
                ),
            )

        await _tell(session, person, f"case-closed:{case.id}", render, now, default_locale)
    await AuditLog(session).record(staff, "case.closed", case=case_id, reason=reason)
    return True


async def viewed(session: AsyncSession, case_id: int, staff: str) -> None:
    """Reading a case's personal data is a staff action too."""
    await AuditLog(session).record(staff, "case.viewed", case=case_id)


# -- "My data" -------------------------------------------------------------------------


async def describe(session: AsyncSession, person: Person, tr: Translator) -> list[str]:
    """What cases store about the person, for Menu → My data."""
    rows = (
        await session.scalars(
            select(Case).where(Case.person_id == person.id).order_by(Case.created_at)
        )
    ).all()
    lines = []
    for case in rows:
        count = await message_count(session, case.id)
        line = tr.n_(
            "Question to a specialist {code} ({date}): {n} message",
            "Question to a specialist {code} ({date}): {n} messages",
            count,
            code=case.code,
            date=tr.date(case.created_at),
        )
        if case.phone:
            line += "; " + tr._("phone number {phone}", phone=case.phone)
        if case.context:
            line += "; " + tr._("shared details of your check, application or booking")
        if case.rating is not None:
            line += "; " + tr._("your rating {n} of 5", n=case.rating)
        lines.append(line)
    return lines


register_section(Section("cases", describe))


# -- retention -------------------------------------------------------------------------


async def purge_closed_cases(session: AsyncSession, now: datetime, months: int) -> int:
    """Delete cases closed more than `months` ago, with their messages (CASE_RETENTION_MONTHS)."""
    from bot.services.retention_calendar import months_before  # one rule for all retention

    cutoff = months_before(now, months)
    ids = (
        await session.scalars(
            select(Case.id).where(Case.state == CLOSED, Case.closed_at < cutoff).limit(5000)
        )
    ).all()
    if not ids:
        return 0
    await session.execute(delete(CaseMessage).where(CaseMessage.case_id.in_(ids)))
    await session.execute(delete(Case).where(Case.id.in_(ids)))
    await AuditLog(session).record("retention", "case.purged", count=len(ids))
    return len(ids)
