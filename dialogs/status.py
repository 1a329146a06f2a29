"""My application status: number → birth date → status in plain words; follow and unfollow.

Button payloads carry internal ids only: an application number is personal
data and must not travel in callback data. The typed number waits in the
person's dialog state (erased with them) only while they are in this dialog.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict, cast

from bot.engine import Button, Context, Dialog, Incoming, Kind, Step
from bot.engine.choices import Choices
from bot.resources import Resources
from bot.services.status import follows
from bot.services.status.lookup import (
    Guesser,
    LookupResult,
    Outcome,
    both_locked_until,
    follows_and_locked_until,
    locked_until,
    lookup,
    number_key,
    refresh,
)
from bot.services.status.numbers import (
    EXAMPLE,
    MAX_LENGTH,
    MIN_LENGTH,
    DateProblem,
    NumberProblem,
    check_birth_date,
    number_problem,
    parse_number,
)
from bot.services.status.texts import DEMO_NOTICE, explain, is_demo, label
from storage.models.status import Application

status = Dialog("status")


class Looked(TypedDict, total=False):
    """What the status dialog keeps between steps (`ctx.data`); mypy checks every key."""

    number: str  # the number typed, printed form, while the birth date is asked
    app: int  # the application found (its id), after the birth date matched
    as_of: str | None  # a saved copy shown (registry down): when last confirmed, ISO
    unf: int  # the application to stop following, once confirmed


def looked(ctx: Context) -> Looked:
    return cast(Looked, ctx.data)


SHOW = Choices("show")  # a followed application's id
UNFOLLOW = Choices("unf")


def until_text(ctx: Context, until: datetime) -> str:
    """A time today, or a date and time when the wait crosses midnight (Kyiv)."""
    same_day = until.astimezone(ctx.tr.tz).date() == ctx.now().astimezone(ctx.tr.tz).date()
    when = ctx.tr.time(until) if same_day else ctx.tr.datetime(until)
    # People outside Ukraine read times in their own zone unless told otherwise.
    return ctx._("{time} Kyiv time", time=when)


def guesser(ctx: Context) -> Guesser:
    return Guesser.of(ctx.runtime.settings, ctx.person.platform, ctx.person.platform_user_id)


def say_locked(ctx: Context, until: datetime) -> None:
    ctx.note(
        ctx._(
            "Too many unsuccessful tries. To protect your data, checking is paused. "
            "Please try again after {time}.",
            time=until_text(ctx, until),
        )
    )


def followed_button(ctx: Context, count: int) -> list[list[Button]]:
    if not count:
        return []
    return [[ctx.button(ctx._("📋 Applications I follow ({n})", n=count), "list")]]


@status.step("number")
class Number(Step):
    back = True

    async def show(self, ctx: Context) -> None:
        count, until = await follows_and_locked_until(
            ctx.db, guesser(ctx), ctx.person.id, ctx.now()
        )
        rows = followed_button(ctx, count)
        if until is not None:
            say_locked(ctx, until)
            if rows:
                ctx.ask(ctx._("You can still see the applications you follow."), rows)
            return
        ctx.ask(
            ctx._(
                "Type your application number as it is printed on your documents, "
                "for example {example}.",
                example=EXAMPLE,
            ),
            rows,
            title=ctx._("Application status"),
        )

    async def handle(self, ctx: Context, event: Incoming) -> None:
        if event.kind is Kind.BUTTON:
            if event.payload == "list":
                return ctx.goto("followed")
            return ctx.invalid(ctx._("Please choose one of the buttons."))
        number = parse_number(event.text)
        if number is None:
            if await locked_until(ctx.db, guesser(ctx), ctx.now()) is not None:
                return ctx.goto("number")
            return ctx.invalid(number_error(ctx, number_problem(event.text)))
        key = number_key(ctx.runtime.settings, number)
        # Both pauses in one statement; the person's own comes first, as before.
        mine, paused = await both_locked_until(ctx.db, guesser(ctx), key, ctx.now())
        if mine is not None:
            return ctx.goto("number")
        if paused is not None:
            say_locked(ctx, paused)
            return ctx.goto("number")
        looked(ctx)["number"] = number.printed
        return ctx.goto("birth")


@status.step("birth")
class Birth(Step):
    async def show(self, ctx: Context) -> None:
        ctx.ask(
            ctx._(
                "Now type your date of birth, for example 15.03.1984. "
                "I ask for it so that nobody else can see your application."
            )
        )

    async def handle(self, ctx: Context, event: Incoming) -> None:
        number = parse_number(str(looked(ctx).get("number", "")))
        if number is None:
            return ctx.goto("number")
        if event.kind is not Kind.TEXT:
            return ctx.invalid(ctx._("Please type the date, for example 15.03.1984."))
        birth_date = check_birth_date(event.text, ctx.now().astimezone(ctx.tr.tz).date())
        if isinstance(birth_date, DateProblem):
            return ctx.invalid(date_error(ctx, birth_date))
        result = await lookup(
            ctx.db,
            guesser=guesser(ctx),
            number=number,
            number_hash=number_key(ctx.runtime.settings, number),
            birth_date=birth_date,
            now=ctx.now(),
            default_locale=ctx.runtime.settings.default_locale,
            registry=Resources.of(ctx.runtime.resources).registry,
            with_history=False,  # the result step reads it
        )
        if result.outcome is Outcome.FOUND:
            ctx.count("completed", "status")
            return show_found(ctx, result)  # the number stays: Back re-asks only the date
        looked(ctx).pop("number", None)
        if result.outcome is Outcome.MISMATCH:
            text = ctx._(
                "Not found, or the details do not match. "
                "Please check the number and the date of birth and try again."
            )
            if result.locked_until is None:
                text += "\n" + ctx.n_(
                    "You have {n} more try this hour.",
                    "You have {n} more tries this hour.",
                    result.tries_left,
                )
            ctx.note(text)
        elif result.outcome is Outcome.LOCKED and result.locked_until is not None:
            say_locked(ctx, result.locked_until)
        elif result.outcome is Outcome.UNAVAILABLE:
            ctx.note(
                ctx._(
                    "The application registry is not answering right now. "
                    "Please try again in a few minutes."
                )
            )
        return ctx.goto("number")


def number_error(ctx: Context, problem: NumberProblem | None) -> str:
    """What exactly is wrong with a typed application number."""
    if problem is NumberProblem.TOO_LONG:
        return ctx._(
            "This number is too long: an application number has at most {n} letters and "
            "digits, for example {example}.",
            n=MAX_LENGTH,
            example=EXAMPLE,
        )
    if problem is NumberProblem.TOO_SHORT:
        return ctx._(
            "This number is too short: an application number has at least {n} letters and "
            "digits, for example {example}.",
            n=MIN_LENGTH,
            example=EXAMPLE,
        )
    return ctx._(
        "This does not look like an application number. It has letters and "
        "digits, for example {example}.",
        example=EXAMPLE,
    )


def date_error(ctx: Context, problem: DateProblem) -> str:
    """What exactly is wrong with a typed birth date."""
    if problem is DateProblem.NO_SUCH_DATE:
        return ctx._(
            "There is no such date: please check the day and the month, for example 15.03.1984."
        )
    if problem is DateProblem.FUTURE:
        return ctx._("This date is in the future. Please type your date of birth.")
    if problem is DateProblem.TOO_OLD:
        return ctx._("This date is too long ago. Please check the year.")
    return ctx._("I could not read this date. Please type it like 15.03.1984.")


def show_found(ctx: Context, result: LookupResult) -> None:
    assert result.application is not None
    looked(ctx)["app"] = result.application.id
    looked(ctx)["as_of"] = result.as_of.isoformat() if result.as_of else None
    ctx.goto("result")


def render(ctx: Context, application: Application, result: LookupResult) -> str:
    tr = ctx.tr
    parts: list[str] = []
    if is_demo(application.printed_number):
        parts.append(ctx._(DEMO_NOTICE))
    if result.as_of is not None:
        parts.append(
            ctx._(
                "The registry is not answering right now. This is the last known status, "
                "as of {when}.",
                when=tr.datetime(result.as_of),
            )
        )
    parts.append(ctx._("Status: {status}", status=label(tr, application.status)))
    parts.append(explain(tr, application.status))
    if application.note:
        parts.append(ctx._("Note: {note}", note=application.note))
    parts.append(ctx._("Last change: {date}", date=tr.date(application.updated_at)))
    if len(result.history) > 1:
        lines = [
            f"• {tr.date(change.changed_at)} — {label(tr, change.status)}"
            for change in result.history
        ]
        parts.append(ctx._("History:") + "\n" + "\n".join(lines))
    return "\n\n".join(part for part in parts if part)


@status.step("result")
class Result(Step):
    async def show(self, ctx: Context) -> None:
        application_id = looked(ctx).get("app")
        shown = (
            await follows.shown(ctx.db, ctx.person.id, application_id)
            if isinstance(application_id, int)
            else None
        )
        if shown is None:
            return ctx.goto("number")
        application, following, history = shown.application, shown.following, shown.history
        as_of_raw = looked(ctx).get("as_of")
        as_of = datetime.fromisoformat(as_of_raw) if isinstance(as_of_raw, str) else None
        result = LookupResult(Outcome.FOUND, application, history, as_of=as_of)
        toggle = (
            ctx.button(ctx._("🔕 Stop notifications"), "unfollow")
            if following
            else ctx.button(ctx._("🔔 Notify me when it changes"), "follow")
        )
        rows = [[toggle], [ctx.button(ctx._("🔎 Check another application"), "again")]]
        if application.status in ("rejected", "needs_documents"):
            rows.insert(1, [ctx.button(ctx._("💬 Ask a specialist"), "ask")])
        ctx.ask(
            render(ctx, application, result),
            rows,
            title=ctx._("Application {number}", number=application.printed_number),
        )

    async def on_button(self, ctx: Context, payload: str) -> None:
        application_id = looked(ctx).get("app")
        if not isinstance(application_id, int):
            return ctx.goto("number")
        if payload == "follow":
            if await follows.count_follows(ctx.db, ctx.person.id) >= follows.MAX_FOLLOWS:
                ctx.note(
                    ctx._(
                        "You already follow {n} applications, the most I can watch for one "
                        "person. Stop following one of them first.",
                        n=follows.MAX_FOLLOWS,
                    )
                )
                return ctx.goto("followed")
            await follows.follow(ctx.db, ctx.person.id, application_id, ctx.now())
            ctx.note(
                ctx._(
                    "Done. I will write to you when the status changes. "
                    "At night (22:00–08:00) the message waits until the morning."
                )
            )
            return ctx.goto("followed")
        if payload == "unfollow":
            looked(ctx)["unf"] = application_id
            return ctx.goto("unfollow")
        if payload == "again":
            ctx.data.clear()
            return ctx.goto("number")
        if payload == "ask":  # refused or missing documents: a human explains (dialogs/cases.py)
            return ctx.start("cases", {"topic": "status", "from": {"application": application_id}})
        return ctx.invalid(ctx._("Please choose one of the buttons."))


@status.step("followed")
class Followed(Step):
    async def show(self, ctx: Context) -> None:
        applications = await follows.followed(ctx.db, ctx.person.id)
        again = [ctx.button(ctx._("🔎 Check an application"), "again")]
        if not applications:
            ctx.ask(ctx._("You do not follow any applications yet."), [again])
            return
        lines = [
            ctx._(
                "{number} — {status}, since {date}",
                number=a.printed_number,
                status=label(ctx.tr, a.status),
                date=ctx.tr.date(a.updated_at),
            )
            for a in applications
        ]
        rows = [
            [
                SHOW.button(a.id, f"📄 {a.printed_number}"),
                UNFOLLOW.button(a.id, ctx._("🔕 Stop notifications")),
            ]
            for a in applications
        ]
        ctx.ask(
            ctx._("I will write to you when any of these changes:")
            + "\n"
            + "\n".join(f"• {line}" for line in lines),
            [*rows, again],
            title=ctx._("Applications I follow"),
        )

    async def on_button(self, ctx: Context, payload: str) -> None:
        if payload == "again":
            ctx.data.clear()
            return ctx.goto("number")
        show, unfollow = SHOW.number(payload), UNFOLLOW.number(payload)
        application_id = show if show is not None else unfollow
        if application_id is None:
            return ctx.invalid(ctx._("Please choose one of the buttons."))
        application = await follows.followed_application(ctx.db, ctx.person.id, application_id)
        if application is None:  # unfollowed meanwhile (another device, erased data)
            return ctx.goto("followed")
        if unfollow is not None:
            looked(ctx)["unf"] = application.id
            return ctx.goto("unfollow")
        if show is not None:
            result = await refresh(
                ctx.db,
                application,
                now=ctx.now(),
                default_locale=ctx.runtime.settings.default_locale,
                registry=Resources.of(ctx.runtime.resources).registry,
                with_history=False,  # the result step reads it
            )
            return show_found(ctx, result)
        return ctx.invalid(ctx._("Please choose one of the buttons."))


@status.step("unfollow")
class Unfollow(Step):
    """Stopping notifications is confirmed: a stray number must not end them silently."""

    async def show(self, ctx: Context) -> None:
        application = await follows.followed_application(
            ctx.db, ctx.person.id, int(looked(ctx).get("unf") or 0)
        )
        if application is None:
            return ctx.goto("followed")
        ctx.ask(
            ctx._(
                "Stop notifications about application {number}? To follow it again you "
                "will need its number and the date of birth.",
                number=application.printed_number,
            ),
            [
                [ctx.button(ctx._("Yes, stop notifications"), "yes")],
                [ctx.button(ctx._("No, keep them"), "no")],
            ],
        )

    async def on_button(self, ctx: Context, payload: str) -> None:
        application = await follows.followed_application(
            ctx.db, ctx.person.id, int(looked(ctx).pop("unf", 0) or 0)
        )
        if payload == "yes" and application is not None:
            await follows.unfollow(ctx.db, ctx.person.id, application.id)
            ctx.note(
                ctx._(
                    "Done. No more messages about application {number}.",
                    number=application.printed_number,
                )
            )
            return ctx.goto("followed")
        if payload in ("yes", "no"):
            return ctx.back()
        return ctx.invalid(ctx._("Please choose one of the buttons."))
