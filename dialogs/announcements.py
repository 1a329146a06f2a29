"""Staff: write an announcement, choose who gets it, preview, send or schedule, follow, cancel.

Only people in STAFF_IDS reach any of these steps: the engine refuses to start
or continue a `staff_only` dialog for anyone else, whatever they type or press.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from babel.numbers import format_currency

from bot.delivery.quiet import daytime_from
from bot.engine import Context, Dialog, Incoming, Kind, Step
from bot.engine.choices import Choices
from bot.i18n import N_
from bot.services.broadcast import (
    AnnouncementError,
    Audience,
    AudienceError,
    Draft,
    cancel,
    citizen_reply,
    counts,
    create,
    eta_seconds,
    reach,
)
from bot.services.broadcast import announcements as store
from bot.services.broadcast.audience import regions
from bot.services.broadcast.live import progress_text
from bot.services.broadcast.message import MAX_TEXT, clean_text
from bot.services.broadcast.schedule import parse_kyiv_time, too_far_ahead
from bot.services.personal_data import region_name
from dialogs.booking_common import catalog, sorted_oblasts

# The id stays "staff": people part-way through an announcement have it saved
# in dialog_states, and the menu and tests start it by that name.
announcements = Dialog("staff", staff_only=True)

AUDIENCE = Choices("a")  # an audience code (bot/services/broadcast/audience.py)
REGION = Choices("r")  # a region's KATOTTG code
ANNOUNCEMENT = Choices("open")  # an announcement's id

AUDIENCES = (
    ("all", N_("👥 Everyone")),
    ("lang:uk", N_("🇺🇦 Reading Ukrainian")),
    ("lang:en", N_("🇬🇧 Reading English")),
    ("platform:telegram", N_("✈️ Telegram")),
    ("platform:viber", N_("💜 Viber")),
    ("following", N_("📄 Following an application")),
)


def _draft(ctx: Context) -> Draft:
    return Draft.of(
        ctx.data.get("uk", ""), ctx.data.get("en", ""), Audience.parse(ctx.data["audience"])
    )


def _audience_label(ctx: Context, code: str) -> str:
    audience = Audience.parse(code)
    labels = {
        "all": ctx._("everyone"),
        "following": ctx._("people following an application"),
    }
    if audience.kind == "lang":
        return (
            ctx._("people reading Ukrainian")
            if audience.value == "uk"
            else ctx._("people reading English")
        )
    if audience.kind == "platform":
        return ctx._("people on {platform}", platform=audience.value.capitalize())
    if audience.kind == "region":
        return ctx._(
            "people in {region}",
            region=region_name(ctx.tr, audience.value, ctx.runtime.personal_data),
        )
    return labels[audience.kind]


@announcements.step("home")
class Home(Step):
    async def show(self, ctx: Context) -> None:
        ctx.ask(
            ctx._("Announcements reach everyone who has not switched them off."),
            [
                [ctx.button(ctx._("📢 New announcement"), "new")],
                [ctx.button(ctx._("📋 Recent announcements"), "recent")],
                [ctx.button(ctx._("💬 Cases"), "cases")],
                [ctx.button(ctx._("📊 Statistics"), "stats")],
            ],
            title=ctx._("Staff"),
        )

    async def on_button(self, ctx: Context, payload: str) -> None:
        if payload == "new":
            ctx.data.clear()
            return ctx.goto("text_uk")
        if payload == "recent":
            return ctx.goto("recent")
        if payload == "cases":
            return ctx.start("staff_cases")
        if payload == "stats":
            return ctx.start("staff_cases", step="stats")
        return ctx.invalid(ctx._("Please choose one of the buttons."))


class TextStep(Step):
    language = "uk"
    next_step = "text_en"

    def prompt(self, ctx: Context) -> str:
        raise NotImplementedError

    async def show(self, ctx: Context) -> None:
        ctx.ask(
            self.prompt(ctx),
            [[ctx.button(ctx._("Skip this language"), "skip")]],
        )

    async def handle(self, ctx: Context, event: Incoming) -> None:
        if event.kind is Kind.BUTTON and event.payload == "skip":
            ctx.data[self.language] = ""
            return await self.done(ctx)
        if event.kind is not Kind.TEXT or not clean_text(event.text):
            return ctx.invalid(ctx._("Please write the text as one message."))
        text = clean_text(event.text)
        if len(text) > MAX_TEXT:
            return ctx.invalid(
                ctx._("That is {n} characters; the limit is {limit}.", n=len(text), limit=MAX_TEXT)
            )
        ctx.data[self.language] = text
        return await self.done(ctx)

    async def done(self, ctx: Context) -> None:
        ctx.goto(self.next_step)


@announcements.step("text_uk")
class TextUk(TextStep):
    language, next_step = "uk", "text_en"

    def prompt(self, ctx: Context) -> str:
        return ctx._("Write the announcement in Ukrainian, as one message.")


@announcements.step("text_en")
class TextEn(TextStep):
    language = "en"

    def prompt(self, ctx: Context) -> str:
        return ctx._("Now the same announcement in English, as one message.")

    async def done(self, ctx: Context) -> None:
        uk, en = ctx.data.get("uk", ""), ctx.data.get("en", "")
        if not uk and not en:
            ctx.note(ctx._("An announcement needs at least one text."))
            return ctx.goto("text_uk")
        ctx.goto("audience" if uk and en else "one_text")


@announcements.step("one_text")
class OneText(Step):
    async def show(self, ctx: Context) -> None:
        only_uk = bool(ctx.data.get("uk"))
        ctx.ask(
            ctx._("Only the Ukrainian text is written: everyone will receive it in Ukrainian.")
            if only_uk
            else ctx._("Only the English text is written: everyone will receive it in English."),
            [
                [
                    ctx.button(
                        ctx._("Yes, send it in Ukrainian to everyone")
                        if only_uk
                        else ctx._("Yes, send it in English to everyone"),
                        "yes",
                    )
                ],
                [ctx.button(ctx._("Write the other text too"), "other")],
            ],
        )

    async def on_button(self, ctx: Context, payload: str) -> None:
        if payload == "yes":
            return ctx.goto("audience")
        if payload == "other":
            return ctx.goto("text_en" if ctx.data.get("uk") else "text_uk")
        return ctx.invalid(ctx._("Please choose one of the buttons."))


@announcements.step("audience")
class ChooseAudience(Step):
    async def show(self, ctx: Context) -> None:
        rows = [[AUDIENCE.button(code, ctx._(label))] for code, label in AUDIENCES]
        rows.insert(5, [ctx.button(ctx._("📍 In one region"), "region")])
        ctx.ask(ctx._("Who should receive it?"), rows)

    async def on_button(self, ctx: Context, payload: str) -> None:
        if payload == "region":
            return ctx.goto("region")
        if (code := AUDIENCE.parse(payload)) is not None:
            try:
                ctx.data["audience"] = Audience.parse(code).code
            except AudienceError:
                return ctx.invalid(ctx._("Please choose one of the buttons."))
            return ctx.goto("preview")
        return ctx.invalid(ctx._("Please choose one of the buttons."))


@announcements.step("region")
class ChooseRegion(Step):
    async def show(self, ctx: Context) -> None:
        # Names, never KATOTTG codes; how many people gave each region, to judge the reach.
        known = dict(await regions(ctx.db))
        oblasts = sorted_oblasts(ctx, list(catalog(ctx).oblasts.values()))
        buttons = [
            REGION.button(o.code, f"{o.name.in_(ctx.language)} ({known.get(o.code, 0)})")
            for o in oblasts
        ]
        ctx.ask(
            ctx._("Choose the region. In brackets: how many people gave it as theirs."),
            [buttons[i : i + 2] for i in range(0, len(buttons), 2)],
        )

    async def handle(self, ctx: Context, event: Incoming) -> None:
        code = (REGION.parse(event.payload) or "") if event.kind is Kind.BUTTON else event.text
        typed = " ".join(code.split()).casefold()
        named = next(
            (
                o.code
                for o in catalog(ctx).oblasts.values()
                if typed in (o.name.uk.casefold(), o.name.en.casefold())
            ),
            None,
        )
        code = (named or code).strip().upper()
        try:
            audience = Audience.parse(f"region:{code}")
        except AudienceError:
            audience = None
        if audience is None or code not in catalog(ctx).oblasts:
            return ctx.invalid(ctx._("I do not know this region. Please choose it with a button."))
        ctx.data["audience"] = audience.code
        ctx.goto("preview")


@announcements.step("preview")
class Preview(Step):
    async def show(self, ctx: Context) -> None:
        draft = _draft(ctx)
        estimate = await reach(
            ctx.db,
            draft.audience,
            default_locale=ctx.runtime.settings.default_locale,
            viber_price=ctx.runtime.settings.viber_message_price,
            now=ctx.now(),
        )
        # Each reader gets the frame (title, footer) in their own language, with their
        # language's text or the only text there is.
        readers = [draft.audience.value] if draft.audience.kind == "lang" else ["uk", "en"]
        for language in readers:
            ctx.say(
                ctx._("People reading Ukrainian will receive exactly this:")
                if language == "uk"
                else ctx._("People reading English will receive exactly this:")
            )
            ctx.replies.append(citizen_reply(language, draft.text_uk, draft.text_en))
        if not estimate.total:
            ctx.ask(
                ctx._(
                    "Nobody is in this audience: {audience}.",
                    audience=_audience_label(ctx, draft.audience.code),
                ),
                [[ctx.button(ctx._("Choose another audience"), "audience")]],
            )
            return
        money = format_currency(estimate.viber_cost, "EUR", locale=ctx.tr.locale)
        per_platform = ", ".join(
            f"{platform.capitalize()}: {n}" for platform, n in estimate.per_platform.items()
        )
        lines = [
            ctx._("To: {audience}.", audience=_audience_label(ctx, draft.audience.code)),
            ctx.n_("{n} person", "{n} people", estimate.total) + f" — {per_platform}",
        ]
        if estimate.per_platform.get("viber"):
            lines.append(
                ctx._(
                    "Viber: {free} free (wrote to us in the last 24 hours), {paid} paid, "
                    "about {money}.",
                    free=estimate.viber_free,
                    paid=estimate.viber_billable,
                    money=money,
                )
            )
        ctx.ask(
            "\n".join(lines),
            [
                [ctx.button(ctx._("✅ Send now"), "send")],
                [ctx.button(ctx._("🕒 Send later"), "later")],
                [ctx.button(ctx._("✏️ Start again"), "again")],
            ],
            title=ctx._("Check before sending"),
        )

    async def on_button(self, ctx: Context, payload: str) -> None:
        if payload == "send":
            if daytime_from(ctx.now()) != ctx.now():
                return ctx.goto("night")  # status notices wait for the morning; ask first
            return await _create(ctx, scheduled_at=None)
        if payload == "later":
            return ctx.goto("when")
        if payload == "again":
            ctx.data.clear()
            return ctx.goto("text_uk")
        if payload == "audience":
            return ctx.goto("audience")
        return ctx.invalid(ctx._("Please choose one of the buttons."))


async def _create(ctx: Context, *, scheduled_at: datetime | None) -> None:
    at = scheduled_at
    try:
        draft = _draft(ctx)
    except (AnnouncementError, AudienceError, KeyError):
        ctx.note(ctx._("Something in the draft is missing; let us start again."))
        ctx.data.clear()
        return ctx.goto("text_uk")
    settings = ctx.runtime.settings
    estimate = await reach(
        ctx.db,
        draft.audience,
        default_locale=settings.default_locale,
        viber_price=settings.viber_message_price,
        now=ctx.now(),
    )
    announcement = await create(
        ctx.db,
        draft,
        author=f"{ctx.event.platform}:{ctx.event.user_id}",
        author_person_id=ctx.person.id,
        now=ctx.now(),
        default_locale=settings.default_locale,
        reach=estimate,
        scheduled_at=at,
    )
    ctx.data.clear()
    ctx.data["id"] = announcement.id
    if at is None:
        ctx.note(ctx._("Sending has started."))
    else:
        ctx.note(ctx._("Scheduled for {when} (Kyiv time).", when=ctx.tr.datetime(at)))
    ctx.goto("progress")


@announcements.step("night")
class Night(Step):
    """ "Send now" between 22:00 and 08:00 Kyiv time: people would be woken up."""

    async def show(self, ctx: Context) -> None:
        morning = daytime_from(ctx.now())
        ctx.ask(
            ctx._(
                "It is night in Ukraine (22:00–08:00): a message now may wake people up. "
                "Send it at {time} instead?",
                time=ctx.tr.datetime(morning),
            ),
            [
                [ctx.button(ctx._("🌅 Send at 08:00"), "morning")],
                [ctx.button(ctx._("Send now anyway"), "now")],
            ],
        )

    async def on_button(self, ctx: Context, payload: str) -> None:
        if payload == "morning":
            return await _create(ctx, scheduled_at=daytime_from(ctx.now()))
        if payload == "now":
            return await _create(ctx, scheduled_at=None)
        return ctx.invalid(ctx._("Please choose one of the buttons."))


@announcements.step("when")
class When(Step):
    async def show(self, ctx: Context) -> None:
        ctx.ask(
            ctx._(
                "When should it go out? Write the date and time in Kyiv time, "
                "for example: 25.12.2026 10:00"
            )
        )

    async def handle(self, ctx: Context, event: Incoming) -> None:
        at = parse_kyiv_time(event.text, ctx.now()) if event.kind is Kind.TEXT else None
        if at is None:
            return ctx.invalid(ctx._("I could not read that. Example: 25.12.2026 10:00"))
        if at <= ctx.now() + timedelta(minutes=1):
            return ctx.invalid(ctx._("That time has passed. Please give a time in the future."))
        if too_far_ahead(at, ctx.now()):
            return ctx.invalid(ctx._("That is more than a year ahead. Please check the year."))
        await _create(ctx, scheduled_at=at)


@announcements.step("progress")
class Progress(Step):
    # Back never returns to "Stop this announcement?" of one already stopped (or kept).
    back_to = "home"

    async def show(self, ctx: Context) -> None:
        announcement = await store.get(ctx.db, int(ctx.data.get("id", 0)))
        if announcement is None:
            return ctx.goto("home")
        c = await counts(ctx.db, announcement.id)
        eta = await eta_seconds(ctx.db, announcement.id, ctx.runtime.settings)
        rows = [[ctx.button(ctx._("🔄 Refresh"), "refresh")]]
        if announcement.state in ("scheduled", "sending"):
            rows.append([ctx.button(ctx._("⛔ Stop sending"), "cancel")])
        rows.append([ctx.button(ctx._("📢 New announcement"), "new")])
        ctx.ask(progress_text(ctx.tr, announcement, c, eta), rows)

    async def on_button(self, ctx: Context, payload: str) -> None:
        if payload == "refresh":
            return ctx.goto("progress")
        if payload == "cancel":
            return ctx.goto("cancel")
        if payload == "new":
            ctx.data.clear()
            return ctx.goto("text_uk")
        return ctx.invalid(ctx._("Please choose one of the buttons."))


@announcements.step("cancel")
class Cancel(Step):
    async def show(self, ctx: Context) -> None:
        ctx.ask(
            ctx._("Stop this announcement? Whoever has not received it yet will not get it."),
            [
                [ctx.button(ctx._("Yes, stop it"), "yes")],
                [ctx.button(ctx._("No, keep sending"), "no")],
            ],
        )

    async def on_button(self, ctx: Context, payload: str) -> None:
        if payload == "yes":
            await cancel(
                ctx.db,
                int(ctx.data["id"]),
                actor=f"{ctx.event.platform}:{ctx.event.user_id}",
                now=ctx.now(),
            )
            ctx.note(ctx._("Stopped. Nothing more will be sent."))
            return ctx.goto("progress")
        if payload == "no":
            return ctx.goto("progress")
        return ctx.invalid(ctx._("Please choose one of the buttons."))


@announcements.step("recent")
class Recent(Step):
    async def show(self, ctx: Context) -> None:
        items = await store.recent(ctx.db)
        rows = []
        for announcement in items:
            preview = (announcement.text_uk or announcement.text_en).replace("\n", " ")
            label = f"#{announcement.id} · {preview[:30]}"
            rows.append([ANNOUNCEMENT.button(announcement.id, label)])
        ctx.ask(
            ctx._("The latest announcements:") if items else ctx._("No announcements yet."),
            rows,
        )

    async def on_button(self, ctx: Context, payload: str) -> None:
        if (announcement_id := ANNOUNCEMENT.number(payload)) is not None:
            ctx.data.clear()
            ctx.data["id"] = announcement_id
            return ctx.goto("progress")
        return ctx.invalid(ctx._("Please choose one of the buttons."))
