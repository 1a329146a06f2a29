"""Cases inbox: waiting cases oldest first, take, reply (own words or a ready answer),
hand back, close; the person's shared context; live updates by polling a fragment.

Every action is the cases service's own function, with the console user's staff id
(as in STAFF_IDS), so the rules are the chat's: one holder at a time, removed staff
can do nothing, every read and change audited.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import select

from bot.console.pages import NavItem, Page
from bot.console.web import console, render, staff_session, tr_of, url
from bot.i18n import N_, Translator
from bot.services.cases import service
from bot.services.cases.context import describe
from bot.services.cases.data import CasesData
from bot.services.stats.report import duration
from dialogs.cases import TOPICS
from storage.models import Person
from storage.models.cases import OPEN, TAKEN, Case

routes = web.RouteTableDef()
PATH = "/cases"
CONSOLE_PAGE = Page(NavItem("cases", N_("Cases"), PATH, 20), routes)
INBOX = 50

REASONS = {
    "answered": N_("Answered"),
    "referred": N_("Referred elsewhere"),
    "duplicate": N_("Duplicate"),
    "no_reply": N_("No reply from the person"),
}
STATES = {"open": N_("Waiting"), "taken": N_("Taken"), "closed": N_("Closed")}


def _canned(request: web.Request) -> CasesData | None:
    return console(request).app.resources.cases


async def _inbox_rows(request: web.Request, tr: Translator) -> list[dict[str, Any]]:
    c = console(request)
    me = staff_session(request).staff_id
    now = c.now()
    async with c.app.db.transaction() as session:
        cases = await service.queue(session, me, c.app.settings.staff_ids, limit=INBOX)
        found = await session.scalars(
            select(Person).where(Person.id.in_([case.person_id for case in cases]))
        )
        people = {person.id: person for person in found}
    rows = []
    for case in cases:
        person = people.get(case.person_id)
        rows.append(
            {
                "id": case.id,
                "code": case.code,
                "topic": tr._(TOPICS.get(case.topic, case.topic)),
                "language": (person.locale if person else None) or "—",
                "platform": (person.platform.capitalize() if person else "—"),
                "waiting": duration(tr, (now - case.created_at).total_seconds()),
                "mine": case.state == TAKEN and case.assignee == me,
            }
        )
    return rows


@routes.get(PATH)
async def inbox(request: web.Request) -> web.Response:
    tr = tr_of(request)
    return render(request, "cases.html", title=tr._("Cases"), rows=await _inbox_rows(request, tr))


@routes.get(PATH + "/live")
async def inbox_live(request: web.Request) -> web.Response:
    """The inbox table alone, for the page to refresh itself without reloading."""
    tr = tr_of(request)
    return render(request, "cases_table.html", rows=await _inbox_rows(request, tr))


def _case_id(request: web.Request) -> int:
    try:
        return int(request.match_info["id"])
    except ValueError:
        raise web.HTTPNotFound() from None


async def _case_view(request: web.Request, *, audit: bool) -> dict[str, Any]:
    c = console(request)
    tr = tr_of(request)
    me = staff_session(request).staff_id
    async with c.app.db.transaction() as session:
        case = await service.get_case(session, _case_id(request))
        if case is None:
            raise web.HTTPNotFound()
        person = await session.get(Person, case.person_id)
        history = await service.messages(session, case.id)
        if audit:
            await service.viewed(session, case.id, me)
    language = (person.locale if person else None) or c.app.settings.default_locale
    data = _canned(request)
    return {
        "case": case,
        "topic": tr._(TOPICS.get(case.topic, case.topic)),
        "state": tr._(STATES.get(case.state, case.state)),
        "platform": person.platform.capitalize() if person else "—",
        "language": language,
        "waiting": duration(tr, (c.now() - case.created_at).total_seconds()),
        "shared": describe(case.context or {}, c.app.resources, tr),
        "history": [
            {
                "citizen": m.author == service.CITIZEN,
                "staff": m.staff,
                "when": tr.datetime(m.created_at),
                "text": m.text,
            }
            for m in history
        ],
        "mine": _is_mine(case, me),
        "free": case.state == OPEN
        or (case.state == TAKEN and case.assignee not in c.app.settings.staff_ids),
        "holder": case.assignee or "",
        "canned": [(a.id, a.title(tr.language), a.text(language)) for a in data.canned]
        if data
        else [],
        "reasons": REASONS,
    }


def _is_mine(case: Case, me: str) -> bool:
    return case.state == TAKEN and case.assignee == me


@routes.get(PATH + "/{id}")
async def show_case(request: web.Request) -> web.Response:
    tr = tr_of(request)
    view = await _case_view(request, audit=True)
    return render(
        request,
        "case.html",
        title=tr._("Case {code}", code=view["case"].code),
        error=request.query.get("error", ""),
        **view,
    )


@routes.get(PATH + "/{id}/live")
async def case_live(request: web.Request) -> web.Response:
    view = await _case_view(request, audit=False)
    return render(request, "case_messages.html", **view)


def _back(request: web.Request, *, error: bool = False) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(
        url(request, f"{PATH}/{_case_id(request)}" + ("?error=1" if error else ""))
    )


@routes.post(PATH + "/{id}/take")
async def take(request: web.Request) -> web.Response:
    c = console(request)
    async with c.app.db.transaction() as session:
        taken = await service.take(
            session,
            _case_id(request),
            staff_session(request).staff_id,
            c.app.settings.staff_ids,
            c.now(),
        )
    raise _back(request, error=not taken)


@routes.post(PATH + "/{id}/reply")
async def reply(request: web.Request) -> web.Response:
    c = console(request)
    form = await request.post()
    text = service.clean_text(str(form.get("text", "")))
    canned_id = str(form.get("canned", ""))
    async with c.app.db.transaction() as session:
        case = await service.get_case(session, _case_id(request))
        if case is None:
            raise web.HTTPNotFound()
        canned = None
        if not text and canned_id:
            data = _canned(request)
            answer = data.canned_answer(canned_id) if data else None
            person = await session.get(Person, case.person_id)
            language = (person.locale if person else None) or c.app.settings.default_locale
            if answer is not None:
                text, canned = answer.text(language), answer.id
        if not text or len(text) > service.MAX_TEXT:
            raise _back(request, error=True)
        answered = await service.reply(
            session,
            case.id,
            staff_session(request).staff_id,
            text,
            c.now(),
            staff_ids=c.app.settings.staff_ids,
            default_locale=c.app.settings.default_locale,
            canned=canned,
        )
    raise _back(request, error=answered is None)


@routes.post(PATH + "/{id}/handback")
async def hand_back(request: web.Request) -> web.Response:
    c = console(request)
    async with c.app.db.transaction() as session:
        done = await service.hand_back(
            session,
            _case_id(request),
            staff_session(request).staff_id,
            c.app.settings.staff_ids,
            c.now(),
        )
    raise _back(request, error=not done)


@routes.post(PATH + "/{id}/close")
async def close(request: web.Request) -> web.Response:
    c = console(request)
    reason = str((await request.post()).get("reason", ""))
    if reason not in REASONS:
        raise _back(request, error=True)
    async with c.app.db.transaction() as session:
        done = await service.close_by_staff(
            session,
            _case_id(request),
            staff_session(request).staff_id,
            reason,
            c.now(),
            staff_ids=c.app.settings.staff_ids,
            default_locale=c.app.settings.default_locale,
        )
    raise _back(request, error=not done)
