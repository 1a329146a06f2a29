"""The audit log: who did what and when, filterable by action, person and day."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta

from aiohttp import web
from sqlalchemy import select

from bot.console.pages import NavItem, Page
from bot.console.web import console, render, tr_of
from bot.delivery.quiet import KYIV
from bot.i18n import N_
from storage.models import AuditEntry

routes = web.RouteTableDef()
PATH = "/audit"
CONSOLE_PAGE = Page(NavItem("audit", N_("Audit log"), PATH, 90), routes)
PAGE = 100


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


@routes.get(PATH)
async def page(request: web.Request) -> web.Response:
    q = request.query
    action, actor = q.get("action", "")[:64], q.get("actor", "")[:64]
    first, last = _day(q.get("from", "")), _day(q.get("to", ""))
    try:
        before = int(q.get("before", "0"))
    except ValueError:
        before = 0
    statement = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(PAGE)
    if action:
        statement = statement.where(AuditEntry.action == action)
    if actor:
        statement = statement.where(AuditEntry.actor == actor)
    if first:
        statement = statement.where(AuditEntry.at >= datetime.combine(first, time(), KYIV))
    if last:
        end = datetime.combine(last + timedelta(days=1), time(), KYIV)
        statement = statement.where(AuditEntry.at < end)
    if before:
        statement = statement.where(AuditEntry.id < before)
    async with console(request).app.db.transaction() as session:
        entries = list(await session.scalars(statement))
        actions = sorted(await session.scalars(select(AuditEntry.action).distinct()))
        actors = sorted(await session.scalars(select(AuditEntry.actor).distinct()))
    tr = tr_of(request)
    rows = [
        {
            "id": e.id,
            "at": tr.datetime(e.at, format="yyyy-MM-dd HH:mm:ss"),
            "actor": e.actor,
            "action": e.action,
            "details": json.dumps(e.details, ensure_ascii=False, sort_keys=True),
        }
        for e in entries
    ]
    more = dict(q)
    more["before"] = str(entries[-1].id) if len(entries) == PAGE else ""
    return render(
        request,
        "audit.html",
        title=tr._("Audit log"),
        rows=rows,
        actions=actions,
        actors=actors,
        action=action,
        actor=actor,
        first=first.isoformat() if first else "",
        last=last.isoformat() if last else "",
        more=more if more["before"] else None,
    )
