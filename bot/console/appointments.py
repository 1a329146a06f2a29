"""Appointments: one office's day (print-friendly), attended / no-show, the waiting list."""

from __future__ import annotations

from datetime import date

from aiohttp import web

from bot.console.pages import NavItem, register
from bot.console.web import console, render, staff_session, tr_of, url
from bot.i18n import N_
from bot.services.booking import texts
from bot.services.booking.reminders import catalog_of
from bot.services.booking.slots import local_day
from bot.services.booking.visits import Visit, VisitError, day_sheet, mark_visit, waiting_list

routes = web.RouteTableDef()
PATH = "/appointments"
register(NavItem("appointments", N_("Appointments"), PATH, 50), routes)

STATES = {
    "booked": N_("Booked"),
    "attended": N_("Came"),
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
    if office is not None:
        async with c.app.db.transaction() as session:
            sheet = await day_sheet(session, office.id, day)
            queue = await waiting_list(session, office.id)
        rows = [
            {
                "id": a.id,
                "time": tr.time(a.starts_at),
                "code": a.code,
                "service": texts.service_name(tr, catalog, a.service_id),
                "state": a.state,
                "can_mark": a.state == "booked" and local_day(a.starts_at) <= today,
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
    c = console(request)
    form = await request.post()
    try:
        appointment_id = int(request.match_info["id"])
        visit = Visit(str(form.get("visit", "")))
    except ValueError:
        raise web.HTTPBadRequest() from None
    back = f"{PATH}?office={form.get('office', '')}&day={form.get('day', '')}"
    try:
        async with c.app.db.transaction() as session:
            await mark_visit(
                session, appointment_id, visit, actor=staff_session(request).staff_id, now=c.now()
            )
    except VisitError:
        raise web.HTTPSeeOther(url(request, back + "&error=1")) from None
    raise web.HTTPSeeOther(url(request, back))
