"""What a person may share with the specialist so they need not repeat themselves.

Gathered when the case is opened and kept only if the person agrees: the
eligibility answers and result (when they come from a check), the applications
they follow with their status (never the birth date), their booked visits, and
the office that had no free time. Stored as plain ids and values, shown in the
reader's language, so a Ukrainian-speaking specialist reads an English-speaking
person's context in Ukrainian.
"""

from __future__ import annotations

import datetime as dt
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Translator
from bot.resources import Resources
from bot.services.booking.appointments import upcoming
from bot.services.booking.model import OfficeCatalog
from bot.services.eligibility.answers import decode
from bot.services.eligibility.model import Eligibility
from bot.services.eligibility.rules import Outcome, decide
from bot.services.status import follows
from bot.services.status.texts import label as status_label
from storage.models import Person
from storage.models.status import Application

MAX_ITEMS = 5


def _eligibility(resources: Resources, hint: dict[str, Any]) -> dict[str, Any] | None:
    data = resources.eligibility
    raw = hint.get("answers")
    if not isinstance(data, Eligibility) or not isinstance(raw, dict) or not raw:
        return None
    try:
        on = dt.date.fromisoformat(str(hint.get("on")))
    except ValueError:
        return None
    answers = decode(data, raw)
    eligible = [
        d.active.programme.id for d in decide(data, answers, on) if d.outcome is Outcome.ELIGIBLE
    ]
    kept = {qid: value for qid, value in raw.items() if qid in data.questions}
    return {"on": on.isoformat(), "answers": kept, "eligible": eligible}


async def gather(
    session: AsyncSession,
    resources: Resources,
    person: Person,
    hint: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    """Everything that could travel with the case; the person decides whether it does."""
    context: dict[str, Any] = {}
    if isinstance(hint.get("eligibility"), dict):
        found = _eligibility(resources, hint["eligibility"])
        if found:
            context["eligibility"] = found
    found_apps = list((await follows.followed(session, person.id))[:MAX_ITEMS])
    looked_up = hint.get("application")
    if isinstance(looked_up, int) and all(a.id != looked_up for a in found_apps):
        application = await session.get(Application, looked_up)
        if application is not None:
            found_apps.insert(0, application)
    # The number and the status; never the birth date.
    applications = [{"number": a.printed_number, "status": a.status} for a in found_apps]
    if applications:
        context["applications"] = applications
    visits = [
        {
            "code": a.code,
            "office": a.office_id,
            "service": a.service_id,
            "at": a.starts_at.isoformat(),
        }
        for a in (await upcoming(session, person.id, now))[:MAX_ITEMS]
    ]
    if visits:
        context["appointments"] = visits
    if isinstance(hint.get("office"), str):
        context["no_free_time"] = {"office": hint["office"], "service": hint.get("service") or ""}
    return context


def _answer_text(data: Eligibility, qid: str, value: Any, tr: Translator) -> str | None:
    question = data.questions.get(qid)
    if question is None:
        return None
    if question.type == "yes_no":
        shown = tr._("yes") if value else tr._("no")
    elif question.type == "choice":
        option = next((o for o in question.options if o.id == value), None)
        shown = option.label(tr.language) if option else str(value)
    else:
        shown = str(value)
    return f"{question.label(tr.language)}: {shown}"


def describe(context: dict[str, Any], resources: Resources, tr: Translator) -> list[str]:
    """The shared context as lines, in the reader's language."""
    lines: list[str] = []
    data = resources.eligibility
    found = context.get("eligibility")
    if isinstance(found, dict) and isinstance(data, Eligibility):
        programmes = {p.id: p for p in data.programmes}
        titles = [
            programmes[p].title(tr.language) if p in programmes else p
            for p in found.get("eligible", [])
        ]
        lines.append(
            tr._(
                "Eligibility check: likely eligible for {programmes}", programmes=", ".join(titles)
            )
            if titles
            else tr._("Eligibility check: no programme found")
        )
        for qid, value in found.get("answers", {}).items():
            text = _answer_text(data, qid, value, tr)
            if text:
                lines.append(f"  – {text}")
    for application in context.get("applications", []):
        lines.append(
            tr._(
                "Application {number}: {status}",
                number=application.get("number", ""),
                status=status_label(tr, str(application.get("status", ""))),
            )
        )
    catalog = resources.offices
    for visit in context.get("appointments", []):
        lines.append(
            tr._(
                "Appointment {code}: {office}, {when}",
                code=visit.get("code", ""),
                office=_office_name(catalog, visit.get("office", ""), tr),
                when=tr.datetime(datetime.fromisoformat(visit["at"])) if visit.get("at") else "",
            )
        )
    full = context.get("no_free_time")
    if isinstance(full, dict):
        lines.append(
            tr._(
                "No free time to book at {office}",
                office=_office_name(catalog, full.get("office", ""), tr),
            )
        )
    return lines


def _office_name(catalog: Any, office_id: str, tr: Translator) -> str:
    if isinstance(catalog, OfficeCatalog):
        office = catalog.office(office_id)
        if office is not None:
            return office.name.in_(tr.language)
    return office_id
