"""Announcements: compose, preview per messenger, send or schedule, follow, cancel, history.

The same service functions as the Staff dialog and `python -m bot broadcast`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web
from babel.numbers import format_currency

from bot.console.pages import NavItem, Page
from bot.console.web import console, render, staff_session, tr_of, url
from bot.i18n import N_, Translator
from bot.services.broadcast import (
    AnnouncementError,
    Audience,
    AudienceError,
    Counts,
    Draft,
    cancel,
    citizen_reply,
    counts,
    create,
    reach,
)
from bot.services.broadcast import announcements as store
from bot.services.broadcast.audience import regions
from bot.services.broadcast.message import MAX_TEXT
from bot.services.broadcast.schedule import parse_kyiv_time

routes = web.RouteTableDef()
PATH = "/announcements"
CONSOLE_PAGE = Page(NavItem("announcements", N_("Announcements"), PATH, 30), routes)
HISTORY = 20

STATES = {
    "scheduled": N_("Scheduled"),
    "sending": N_("Sending"),
    "done": N_("Finished"),
    "cancelled": N_("Cancelled"),
}

FIXED_AUDIENCES = ("all", "lang:uk", "lang:en", "platform:telegram", "platform:viber", "following")


def audience_label(tr: Translator, code: str) -> str:
    audience = Audience.parse(code)
    if audience.kind == "lang":
        return (
            tr._("People reading Ukrainian")
            if audience.value == "uk"
            else tr._("People reading English")
        )
    if audience.kind == "platform":
        return tr._("People on {platform}", platform=audience.value.capitalize())
    if audience.kind == "region":
        return tr._("People in region {code}", code=audience.value)
    if audience.kind == "following":
        return tr._("People following an application")
    return tr._("Everyone")


async def _audiences(request: web.Request) -> list[tuple[str, str]]:
    tr = tr_of(request)
    async with console(request).app.db.transaction() as session:
        known = await regions(session)
    codes = [*FIXED_AUDIENCES, *(f"region:{code}" for code, _ in known)]
    return [(code, audience_label(tr, code)) for code in codes]


def progress(c: Counts, state: str, tr: Translator) -> dict[str, Any]:
    done = c.total - c.remaining
    if c.total:
        percent = round(100 * done / c.total)
    else:
        percent = 100 if state in ("done", "cancelled") else 0
    return {
        "state": state,
        "state_label": tr._(STATES.get(state, state)),
        "total": c.total,
        "done": done,
        "percent": percent,
        "sent": c.sent,
        "not_delivered": c.not_delivered,
        "blocked": c.blocked,
        "skipped": c.skipped,
        "cancelled": c.cancelled,
        "remaining": c.remaining,
        "viber_delivered": c.viber_delivered,
        "viber_seen": c.viber_seen,
    }


@dataclass(frozen=True, slots=True)
class Form:
    text_uk: str = ""
    text_en: str = ""
    audience: str = "all"
    at: str = ""


async def _form(request: web.Request) -> Form:
    data = await request.post()
    return Form(
        text_uk=str(data.get("text_uk", "")),
        text_en=str(data.get("text_en", "")),
        audience=str(data.get("audience", "all")),
        at=str(data.get("at", "")).strip(),
    )


async def _page(
    request: web.Request, form: Form, *, error: str = "", status: int = 200
) -> web.Response:
    c = console(request)
    async with c.app.db.transaction() as session:
        history = [(a, await counts(session, a.id)) for a in await store.recent(session, HISTORY)]
    tr = tr_of(request)
    return render(
        request,
        "announcements.html",
        status=status,
        title=tr._("Announcements"),
        form=form,
        error=error,
        audiences=await _audiences(request),
        history=history,
        audience_label=lambda code: audience_label(tr, code),
        states=STATES,
        max_text=MAX_TEXT,
    )


@routes.get(PATH)
async def page(request: web.Request) -> web.Response:
    return await _page(request, Form())


def _check(request: web.Request, form: Form) -> tuple[Draft, Any]:
    """The draft and the schedule time, or AnnouncementError with a message for the author."""
    tr = tr_of(request)
    try:
        draft = Draft.of(form.text_uk, form.text_en, Audience.parse(form.audience))
    except AudienceError:
        raise AnnouncementError(tr._("Choose an audience from the list.")) from None
    except AnnouncementError:
        if not (form.text_uk.strip() or form.text_en.strip()):
            message = tr._("Write the announcement in Ukrainian, English or both.")
        else:
            message = tr._("The text is too long: at most {n} characters.", n=MAX_TEXT)
        raise AnnouncementError(message) from None
    at = None
    if form.at:
        now = console(request).now()
        at = parse_kyiv_time(form.at, now)
        if at is None:
            raise AnnouncementError(tr._("The time is not clear: use a date and a time."))
        if at <= now:
            raise AnnouncementError(tr._("The time is in the past."))
    return draft, at


@routes.post(PATH + "/preview")
async def preview(request: web.Request) -> web.Response:
    form = await _form(request)
    try:
        draft, at = _check(request, form)
    except AnnouncementError as exc:
        return await _page(request, form, error=str(exc), status=400)
    c = console(request)
    tr = tr_of(request)
    async with c.app.db.transaction() as session:
        estimate = await reach(
            session,
            draft.audience,
            default_locale=c.app.settings.default_locale,
            viber_price=c.app.settings.viber_message_price,
            now=c.now(),
        )
    # The messengers' own renderers, imported here: a server without Telegram or Viber
    # does not load their SDKs at start for a preview nobody may ask for.
    from handlers.telegram.render import render_reply
    from handlers.viber.render import messages as viber_messages

    readers = [draft.audience.value] if draft.audience.kind == "lang" else ["uk", "en"]
    previews = []
    for reader in readers:
        reply = citizen_reply(reader, draft.text_uk, draft.text_en)
        previews.append(
            {
                "language": reader,
                # Telegram HTML made by our renderer: every staff character is escaped.
                "telegram": [message.text for message in render_reply(reply)],
                "viber": [
                    str(body["text"])
                    for body in viber_messages([reply], c.app.settings.viber_bot_name)
                ],
            }
        )
    return render(
        request,
        "announcement_preview.html",
        title=tr._("Check the announcement"),
        form=form,
        draft=draft,
        at=at,
        previews=previews,
        estimate=estimate,
        viber_cost=format_currency(estimate.viber_cost, "EUR", locale=tr.locale),
        audience=audience_label(tr, draft.audience.code),
        sender=c.app.settings.viber_bot_name,
    )


@routes.post(PATH)
async def send(request: web.Request) -> web.Response:
    form = await _form(request)
    try:
        draft, at = _check(request, form)
    except AnnouncementError as exc:
        return await _page(request, form, error=str(exc), status=400)
    c = console(request)
    now = c.now()
    async with c.app.db.transaction() as session:
        estimate = await reach(
            session,
            draft.audience,
            default_locale=c.app.settings.default_locale,
            viber_price=c.app.settings.viber_message_price,
            now=now,
        )
        announcement = await create(
            session,
            draft,
            author=staff_session(request).staff_id,
            author_person_id=None,
            now=now,
            default_locale=c.app.settings.default_locale,
            reach=estimate,
            scheduled_at=at,
        )
    raise web.HTTPSeeOther(url(request, f"{PATH}/{announcement.id}"))


async def _load(request: web.Request) -> Any:
    try:
        announcement_id = int(request.match_info["id"])
    except ValueError:
        raise web.HTTPNotFound() from None
    async with console(request).app.db.transaction() as session:
        announcement = await store.get(session, announcement_id)
        if announcement is None:
            raise web.HTTPNotFound()
        c = await counts(session, announcement_id)
    return announcement, c


@routes.get(PATH + "/{id}")
async def detail(request: web.Request) -> web.Response:
    announcement, c = await _load(request)
    tr = tr_of(request)
    return render(
        request,
        "announcement.html",
        title=tr._("Announcement #{id}", id=announcement.id),
        a=announcement,
        p=progress(c, announcement.state, tr),
        states=STATES,
        audience=audience_label(tr, announcement.audience),
    )


@routes.get(PATH + "/{id}/progress")
async def progress_json(request: web.Request) -> web.Response:
    announcement, c = await _load(request)
    return web.json_response(progress(c, announcement.state, tr_of(request)))


@routes.post(PATH + "/{id}/cancel")
async def cancel_it(request: web.Request) -> web.Response:
    announcement, _ = await _load(request)
    c = console(request)
    async with c.app.db.transaction() as session:
        await cancel(session, announcement.id, actor=staff_session(request).staff_id, now=c.now())
    raise web.HTTPSeeOther(url(request, f"{PATH}/{announcement.id}"))
