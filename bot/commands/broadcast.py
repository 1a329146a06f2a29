"""`python -m bot broadcast`: queue an announcement and follow its delivery."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from datetime import UTC, datetime
from typing import TextIO

from aiohttp import web
from tqdm import tqdm

from bot.cli import CommandError
from bot.delivery.quiet import KYIV
from bot.i18n import translator
from bot.lifecycle import build_worker
from bot.services.broadcast import (
    AnnouncementError,
    Audience,
    AudienceError,
    Draft,
    counts,
    create,
    reach,
)
from bot.services.broadcast.progress import report_text
from bot.services.broadcast.schedule import too_far_ahead
from bot.settings import Settings
from bot.wiring import App, Launch, command
from handlers.demo_delivery import add_demo_messengers
from storage.models import OutboxMessage
from storage.models.broadcast import Announcement

#: how long to watch for another process (`python -m bot run`) picking the rows up
OTHER_WORKER_GRACE = 3.0
#: give up following when nothing moved this long (nobody can send on some platform)
STALL_SECONDS = 15.0
POLL = 0.25


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--text-uk", default="", metavar="TEXT", help="the Ukrainian text")
    parser.add_argument("--text-en", default="", metavar="TEXT", help="the English text")
    parser.add_argument(
        "--audience",
        default="all",
        help="all (default), lang:uk, lang:en, platform:telegram, platform:viber, "
        "region:<oblast code>, following",
    )
    parser.add_argument(
        "--at", metavar="ISO-8601", help="send later, e.g. 2026-12-01T09:00 (Kyiv time)"
    )


def parse_at(text: str | None, now: datetime) -> datetime | None:
    if not text:
        return None
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--at {text!r} is not an ISO-8601 time (2026-12-01T09:00)") from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=KYIV)
    if at <= now:
        raise CommandError("--at is in the past")
    if too_far_ahead(at, now):
        raise CommandError("--at is more than a year ahead: check the year")
    return at


def check_region(settings: Settings, audience: Audience) -> None:
    """`region:<code>` must name an oblast in the office data (never a typo reaching nobody)."""
    if audience.kind != "region":
        return
    from bot.services.booking.loader import load_catalog

    catalog, _ = load_catalog(settings.data_dir)
    if audience.value not in catalog.oblasts:
        raise CommandError(
            f"unknown region {audience.value!r}: use an oblast code from "
            "offices/oblasts.yaml, e.g. region:UA80000000000093317 (Kyiv)"
        )


@command("broadcast", "queue an announcement; follow delivery unless --at is given", _arguments)
async def broadcast(launch: Launch, args: argparse.Namespace) -> int:
    settings = launch.settings
    try:
        draft = Draft.of(args.text_uk, args.text_en, Audience.parse(args.audience))
    except (AudienceError, AnnouncementError) as exc:
        raise CommandError(str(exc)) from None
    check_region(settings, draft.audience)
    at = parse_at(args.at, datetime.now(UTC))
    app = await launch.app()
    try:
        return await queue_and_follow(app, draft, at, sys.stdout, sys.stderr)
    finally:
        await app.close()


async def queue_and_follow(
    app: App, draft: Draft, at: datetime | None, out: TextIO, err: TextIO
) -> int:
    now = app.runtime.now()
    async with app.db.transaction() as session:
        estimate = await reach(
            session,
            draft.audience,
            default_locale=app.settings.default_locale,
            viber_price=app.settings.viber_message_price,
            now=now,
        )
        announcement = await create(
            session,
            draft,
            author="cli",
            author_person_id=None,
            now=now,
            default_locale=app.settings.default_locale,
            reach=estimate,
            scheduled_at=at,
        )
    print(f"announcement #{announcement.id} queued", file=out)
    platforms = ", ".join(f"{p}: {n}" for p, n in estimate.per_platform.items()) or "nobody"
    print(
        f"recipients: {estimate.total} ({platforms}); Viber estimate: "
        f"{estimate.viber_cost:.2f} EUR for {estimate.viber_billable} paid messages",
        file=err,
    )
    if draft.single_language:
        print(f"note: only the {draft.single_language} text was given: everyone gets it", file=err)
    if at is not None:
        # The row is the plan: whichever `python -m bot run` process sweeps releases it.
        print(f"scheduled for {at.astimezone(KYIV):%Y-%m-%d %H:%M} Kyiv time", file=err)
        return 0
    return await follow(app, announcement.id, out, err)


async def _someone_else_sends(app: App, announcement_id: int) -> bool:
    """Does another process pick up our rows? (Then we only watch, at its rate limit.)"""
    deadline = time.monotonic() + OTHER_WORKER_GRACE
    while time.monotonic() < deadline:
        async with app.db.transaction() as session:
            c = await counts(session, announcement_id)
        if c.remaining < c.total or not c.total:
            return True
        await asyncio.sleep(POLL)
    return False


async def attach_messengers(app: App) -> web.Application:
    """The configured adapters' senders, without their polling loops or webhooks."""
    from bot.server import configured_adapters

    web_app = web.Application()
    for adapter in configured_adapters(app):
        await adapter(app, web_app)  # registers its messenger; its job is not run here
    add_demo_messengers(app)  # only with DEMO_TRANSCRIPT (make demo)
    return web_app


async def follow(app: App, announcement_id: int, out: TextIO, err: TextIO) -> int:
    worker_task: asyncio.Task[None] | None = None
    web_app: web.Application | None = None
    if not await _someone_else_sends(app, announcement_id):
        web_app = await attach_messengers(app)
        if app.messengers:
            worker_task = asyncio.create_task(build_worker(app).run())
    try:
        await _watch(app, announcement_id, err)
    finally:
        if worker_task is not None:
            worker_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker_task
        if web_app is not None:
            await _close(app, web_app)
    async with app.db.transaction() as session:
        announcement = await session.get(Announcement, announcement_id)
        c = await counts(session, announcement_id)
    assert announcement is not None
    print(report_text(translator("en"), announcement, c), file=out)
    if c.remaining:
        waiting = await _waiting_platforms(app, announcement_id)
        print(
            f"{c.remaining} message(s) still queued for {', '.join(waiting)}: they go out when "
            "`python -m bot run` with that platform configured is running",
            file=err,
        )
    return 0


async def _watch(app: App, announcement_id: int, err: TextIO) -> None:
    async with app.db.transaction() as session:
        total = (await counts(session, announcement_id)).total
    bar = tqdm(total=total, unit="msg", desc=f"announcement {announcement_id}", file=err)
    last_change, last_done = time.monotonic(), -1
    try:
        while True:
            async with app.db.transaction() as session:
                c = await counts(session, announcement_id)
            done = c.total - c.remaining
            bar.update(done - bar.n)
            bar.set_postfix(sent=c.sent, failed=c.not_delivered, refresh=False)
            if not c.remaining:
                break
            if done != last_done:
                last_change, last_done = time.monotonic(), done
            elif time.monotonic() - last_change > STALL_SECONDS:
                break
            await asyncio.sleep(POLL)
    finally:
        bar.close()


async def _waiting_platforms(app: App, announcement_id: int) -> list[str]:
    from sqlalchemy import select

    from storage.models import Person

    async with app.db.transaction() as session:
        rows = await session.scalars(
            select(Person.platform)
            .join(OutboxMessage, OutboxMessage.person_id == Person.id)
            .where(
                OutboxMessage.announcement_id == announcement_id,
                OutboxMessage.state.in_(("pending", "sending")),
            )
            .distinct()
        )
        return sorted(rows)


async def _close(app: App, web_app: web.Application) -> None:
    with contextlib.suppress(Exception):
        web_app.freeze()
        await web_app.cleanup()
    for platform in app.messengers.platforms():
        bot = getattr(app.messengers.get(platform), "bot", None)
        if bot is not None:  # aiogram's Bot keeps an HTTP session open
            with contextlib.suppress(Exception):
                await bot.session.close()
