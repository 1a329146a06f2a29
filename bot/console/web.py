"""The staff web console, served under CONSOLE_PATH by the bot's own aiohttp server.

Server-rendered pages (Jinja2 templates shipped in the package, texts from the
gettext catalogs), no inline scripts, no third-party resources. Every request
but the sign-in page needs a live session; every POST needs the session's
CSRF token. Handlers call the same services the chat and the CLI use.
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
from aiohttp import web

from bot.console import auth
from bot.console.pages import Page, menu
from bot.i18n import LANGUAGES, N_, Translator, translator
from bot.wiring import App
from storage.models.console import ConsoleSession

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
COOKIE = "poruch_console"
LANG_COOKIE = "poruch_console_lang"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
#: paths under the console that need no session
PUBLIC_PREFIXES = ("/signin/", "/static/", "/language", "/signed-out")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Console:
    app: App
    env: jinja2.Environment
    #: the pages of the features this bot was built with, in menu order
    pages: list[Page] = field(default_factory=list)
    limiter: auth.RateLimit = field(default_factory=auth.RateLimit)
    #: checked uploads waiting for "confirm": id → (session hash, CSV text)
    uploads: dict[str, tuple[str, str]] = field(default_factory=dict)

    def now(self) -> datetime:
        return self.app.runtime.now()


CONSOLE_KEY = web.AppKey("poruch_console", Console)
# aiohttp ≥3.12 wants typed request keys; older versions take a plain string.
SESSION_KEY: Any = (
    web.RequestKey("console_session", ConsoleSession)  # type: ignore[attr-defined,unused-ignore]
    if hasattr(web, "RequestKey")
    else "console_session"
)


def console(request: web.Request) -> Console:
    return request.config_dict[CONSOLE_KEY]


def staff_session(request: web.Request) -> ConsoleSession:
    row: ConsoleSession = request[SESSION_KEY]
    return row


def language(request: web.Request) -> str:
    chosen = request.cookies.get(LANG_COOKIE, "")
    return chosen if chosen in LANGUAGES else console(request).app.settings.default_locale


def tr_of(request: web.Request) -> Translator:
    return translator(language(request))


def url(request: web.Request, path: str = "") -> str:
    return f"{console(request).app.settings.console_path}{path}"


def render(
    request: web.Request, template: str, *, status: int = 200, **values: Any
) -> web.Response:
    c = console(request)
    tr = tr_of(request)
    row: ConsoleSession | None = request.get(SESSION_KEY)
    body = c.env.get_template(template).render(
        _=tr._,
        n_=tr.n_,
        tr=tr,
        lang=tr.language,
        base=c.app.settings.console_path,
        csrf=row.csrf if row else "",
        staff=row.staff_id if row else None,
        nav=menu(c.pages) if row else [],
        current=request.path,
        **values,
    )
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")


def problem(request: web.Request, status: int, message: str) -> web.Response:
    return render(request, "problem.html", status=status, message=message)


# -- middlewares ----------------------------------------------------------------
@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
    headers = response.headers
    headers["Content-Security-Policy"] = CSP
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    # A sign-in link is in the path: it must never travel to another site as a Referer.
    headers["Referrer-Policy"] = "same-origin"
    headers.setdefault("Cache-Control", "no-store")
    if isinstance(response, web.HTTPException):
        raise response
    return response


def _local_path(request: web.Request) -> str:
    return request.path.removeprefix(console(request).app.settings.console_path)


@web.middleware
async def require_staff(request: web.Request, handler: Handler) -> web.StreamResponse:
    path = _local_path(request)
    if path.startswith(PUBLIC_PREFIXES):
        return await handler(request)
    c = console(request)
    async with c.app.db.transaction() as session:
        row = await auth.load_session(
            session, c.app.settings, request.cookies.get(COOKIE, ""), c.now()
        )
    if row is None:
        tr = tr_of(request)
        response = render(
            request,
            "signin_needed.html",
            status=401,
            title=tr._(N_("Sign in to the staff console")),
        )
        response.del_cookie(COOKIE, path=c.app.settings.console_path)
        return response
    request[SESSION_KEY] = row
    if request.method not in ("GET", "HEAD"):
        if not _same_origin(request):
            return problem(request, 403, tr_of(request)._(N_("This form came from another site.")))
        form = await request.post()
        sent = form.get("csrf")
        if not isinstance(sent, str) or not secrets.compare_digest(sent, row.csrf):
            return problem(
                request,
                403,
                tr_of(request)._(N_("This form has expired. Open the page again and retry.")),
            )
    return await handler(request)


def _same_origin(request: web.Request) -> bool:
    """A form posted from another site is refused even before its CSRF token is read."""
    origin = request.headers.get("Origin")
    if not origin or origin == "null":  # not sent, or hidden by a privacy setting
        return True
    return urlsplit(origin).netloc == request.host


# -- sign-in and out ----------------------------------------------------------------
async def signin_page(request: web.Request) -> web.Response:
    """Opening a link only shows a button: link previews (Telegram fetches links) spend nothing."""
    c = console(request)
    token = request.match_info["token"]
    tr = tr_of(request)
    if not auth.well_formed(c.app.settings, token, c.now()):
        return problem(request, 400, tr._(N_("This sign-in link is not valid or has expired.")))
    return render(request, "signin.html", title=tr._(N_("Sign in")), token=token)


def client_address(request: web.Request) -> str:
    """Who is signing in, for the rate limit: behind a local proxy, the address it reports."""
    remote = request.remote or "?"
    forwarded = request.headers.get("X-Real-IP", "").strip()[:64]
    try:
        proxied = ipaddress.ip_address(remote).is_private  # loopback counts as private
    except ValueError:
        proxied = False
    return forwarded if forwarded and proxied else remote


async def signin(request: web.Request) -> web.StreamResponse:
    c = console(request)
    tr = tr_of(request)
    if not c.limiter.allow(client_address(request)):
        return problem(request, 429, tr._(N_("Too many sign-in attempts. Wait a few minutes.")))
    token = request.match_info["token"]
    async with c.app.db.transaction() as session:
        staff_id = await auth.redeem_link(session, c.app.settings, token, c.now())
        started = (
            await auth.start_session(session, c.app.settings, staff_id, c.now())
            if staff_id
            else None
        )
    if started is None:
        return problem(
            request,
            403,
            tr._(
                N_(
                    "This sign-in link is not valid: it was used already, has expired, "
                    "or you are not on the staff list. Type /console to the bot for a new one."
                )
            ),
        )
    response = web.HTTPSeeOther(url(request, "/"))
    settings = c.app.settings
    response.set_cookie(
        COOKIE,
        started.cookie,
        path=settings.console_path,
        httponly=True,
        secure=bool(settings.public_base_url and settings.public_base_url.startswith("https")),
        samesite="Strict",
    )
    raise response


async def signout(request: web.Request) -> web.StreamResponse:
    c = console(request)
    async with c.app.db.transaction() as session:
        row = await session.get(ConsoleSession, staff_session(request).token_hash)
        if row is not None:
            await auth.end_session(session, row, c.now())
    response = web.HTTPSeeOther(url(request, "/signed-out"))
    response.del_cookie(COOKIE, path=c.app.settings.console_path)
    raise response


async def signed_out(request: web.Request) -> web.Response:
    return render(request, "signin_needed.html", title=tr_of(request)._(N_("Signed out")))


async def choose_language(request: web.Request) -> web.StreamResponse:
    chosen = request.query.get("to", "")
    back = request.query.get("next", "")
    base = console(request).app.settings.console_path
    # Only a path inside the console: never an open redirect.
    target = back if back.startswith(base + "/") and "//" not in back else base + "/"
    response = web.HTTPSeeOther(target)
    if chosen in LANGUAGES:
        response.set_cookie(LANG_COOKIE, chosen, path=base, samesite="Strict", max_age=365 * 86400)
    raise response


async def home(request: web.Request) -> web.StreamResponse:
    items = menu(console(request).pages)
    raise web.HTTPSeeOther(url(request, items[0].path if items else "/audit"))


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


async def _revoke_former_staff(sub: web.Application) -> None:
    """On start, end (and audit) the sessions of people no longer in STAFF_IDS.

    They could not use them anyway (every request checks), but the record then
    says when their access ended.
    """
    c = sub[CONSOLE_KEY]
    try:
        async with c.app.db.transaction() as session:
            ended = await auth.end_sessions_of_former_staff(session, c.app.settings, c.now())
    except Exception as exc:  # the database is away: every request checks anyway
        log.warning("console: could not end former staff sessions: %s", type(exc).__name__)
        return
    if ended:
        log.info("console: ended %d session(s) of people no longer on the staff list", ended)


def build_console(app: App) -> web.Application:
    pages = [page for feature in app.features for page in feature.console_pages]
    sub = web.Application(middlewares=[security_headers, require_staff])
    sub[CONSOLE_KEY] = Console(app=app, env=_environment(), pages=pages)
    sub.on_startup.append(_revoke_former_staff)
    sub.router.add_get("/", home)
    sub.router.add_get("/signin/{token}", signin_page)
    sub.router.add_post("/signin/{token}", signin)
    sub.router.add_post("/signout", signout)
    sub.router.add_get("/signed-out", signed_out)
    sub.router.add_get("/language", choose_language)
    sub.router.add_static("/static/", HERE / "static", append_version=False)
    for page in pages:
        sub.router.add_routes(page.routes)
    return sub


def add_console(app: App, web_app: web.Application) -> None:
    web_app.add_subapp(app.settings.console_path, build_console(app))
