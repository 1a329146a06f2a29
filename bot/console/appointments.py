"""Appointments: one office's day (print-friendly), attended / no-show, the waiting list."""

from __future__ import annotations

from datetime import date

from aiohttp import web

from bot.console.pages import NavItem, Page
from bot.console.web import console, render, staff_session, tr_of, url
from bot.i18n import N_
from bot.services.booking import texts
from bot.services.booking.reminders import catalog_of
from bot.services.booking.slots import local_day
from bot.services.booking.visits import (
    VisitError,
    can_mark,
    day_sheet,
    mark_no_shows,
    waiting_list,
)
from storage.models.booking import Appointment

routes = web.RouteTableDef()
PATH = "/appointments"
CONSOLE_PAGE = Page(NavItem("appointments", N_("Appointments"), PATH, 50), routes)

STATES = {
    "booked": N_("Booked"),
    "no_show": N_("Did not come"),
    "waiting": N_("Waiting"),
    "offered": N_("Offered a place"),
}


@routes.get(PATH)
async def page(request: web.Request) -> web.Response:
    c = console(request)
    tr = tr_of(request)
    catalog = catalog_of(c.app.runtime)
    offices = sorted(catalog.offices.values(), key=lambda o: o.name.in_(tr.language))
    office_id = request.query.get("office") or (offices[0].id if offices else "")
    today = local_day(c.now())
    try:
        day = date.fromisoformat(request.query.get("day", "")) if "day" in request.query else today
    except ValueError:
        day = today
    office = catalog.office(office_id)
    rows, waiting = [], []
    now = c.now()
    if office is not None:
        async with c.app.db.transaction() as session:
            sheet, missed = await day_sheet(session, office.id, day)
            queue = await waiting_list(session, office.id)
        rows = [
            {
                "id": a.id,
                "time": tr.time(a.starts_at),
                "code": a.code,
                "service": texts.service_name(tr, catalog, a.service_id),
                "state": "no_show" if a.id in missed else a.state,
                "missed": a.id in missed,
                "can_mark": can_mark(a, now),
            }
            for a in sheet
        ]
        waiting = [
            {
                "place": n,
                "service": texts.service_name(tr, catalog, e.service_id),
                "since": tr.datetime(e.created_at),
                "state": e.state,
            }
            for n, e in enumerate(queue, start=1)
        ]
    return render(
        request,
        "appointments.html",
        title=tr._("Appointments"),
        offices=[(o.id, o.name.in_(tr.language)) for o in offices],
        office=office,
        office_name=office.name.in_(tr.language) if office else "",
        office_id=office_id,
        day=day,
        day_label=tr.date(day, format="full"),
        rows=rows,
        waiting=waiting,
        states=STATES,
        error=request.query.get("error", ""),
    )


@routes.post(PATH + "/{id}/visit")
async def mark(request: web.Request) -> web.Response:
    """ "Did not come" marks a no-show; "came after all" takes the mark back."""
    c = console(request)
    form = await request.post()
    try:
        appointment_id = int(request.match_info["id"])
    except ValueError:
        raise web.HTTPNotFound() from None
    visit = str(form.get("visit", ""))
    if visit not in ("no_show", "came"):
        raise web.HTTPBadRequest()
    back = f"{PATH}?office={form.get('office', '')}&day={form.get('day', '')}"
    try:
        async with c.app.db.transaction() as session:
            appointment = await session.get(Appointment, appointment_id)
            if appointment is None:
                raise VisitError("no such appointment")
            await mark_no_shows(
                session,
                [appointment],
                actor=staff_session(request).staff_id,
                now=c.now(),
                undo=visit == "came",
                via="console",
            )
    except VisitError:
        raise web.HTTPSeeOther(url(request, back + "&error=1")) from None
    raise web.HTTPSeeOther(url(request, back))
