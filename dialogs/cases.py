"""Ask a specialist: topic → question → what to share → phone (optional) → case number.

A person has at most one open case: coming back here shows it, with ways to
add a message or close it. Staff answers arrive as messages from the bot (the
outbox); their buttons open `add`, `close` and the rating steps `r1`…`r5`.

Other dialogs send people here where they cannot decide for them, with a hint
of what to share: `ctx.start("cases", {"topic": …, "from": {…}})`.
"""

from __future__ import annotations

from datetime import timedelta

from babel.dates import get_day_names

from bot.engine import Context, Dialog, Incoming, Kind, Request, Step
from bot.engine.choices import Choices
from bot.i18n import N_
from bot.resources import Resources
from bot.services.cases import service
from bot.services.cases.context import describe, gather
from bot.services.cases.data import CasesData
from bot.services.cases.hours import Expectation, expectation
from bot.services.cases.notify import post_new_case

RATING_STEPS = tuple(f"r{n}" for n in range(1, 6))

cases = Dialog("cases", entry_steps=("home", "add", "close", *RATING_STEPS))

TOPICS = service.TOPICS
TOPIC = Choices("t")  # a key of TOPICS
SCORE = Choices("s")  # a rating, 1 to 5
STATES = {
    "open": N_("waiting for a specialist"),
    "taken": N_("a specialist is working on it"),
    "closed": N_("closed"),
}


def _data(ctx: Context) -> CasesData | None:
    return Resources.of(ctx.runtime.resources).cases


def duration_text(ctx: Context, wait: timedelta) -> str:
    hours = wait.total_seconds() / 3600
    if hours < 1:
        minutes = max(1, round(wait.total_seconds() / 60))
        return ctx.n_("{n} minute", "{n} minutes", minutes)
    if hours < 48:
        return ctx.n_("{n} hour", "{n} hours", round(hours))
    return ctx.n_("{n} day", "{n} days", round(hours / 24))


def days_text(ctx: Context, days: list[int]) -> str:
    """ "Mon–Fri" for a run of days, "Mon, Wed, Fri" otherwise."""
    names = get_day_names("abbreviated", locale=ctx.tr.locale)
    if len(days) > 2 and days == list(range(days[0], days[-1] + 1)):
        return f"{names[days[0]]}–{names[days[-1]]}"
    return ", ".join(names[d] for d in days)


def expectation_text(ctx: Context, data: CasesData, found: Expectation) -> str:
    hours = data.working_hours
    days = days_text(ctx, sorted(hours.weekdays()))
    parts = [
        ctx._(
            "Specialists work {days}, {opens}–{closes} (Kyiv time).",
            days=days,
            opens=hours.opens.strftime("%H:%M"),
            closes=hours.closes.strftime("%H:%M"),
        ),
        ctx._(
            "Recently the first answer came after about {time}.",
            time=duration_text(ctx, found.typical),
        )
        if found.measured
        else ctx._(
            "The first answer usually takes about {time} of working hours.",
            time=duration_text(ctx, found.typical),
        ),
    ]
    if not found.open_now and found.opens_at is not None:
        parts.append(
            ctx._(
                "It is outside working hours now: specialists will start on it from {when}.",
                when=ctx.tr.datetime(found.opens_at),
            )
        )
    return " ".join(parts)


def typed_text(ctx: Context, event: Incoming, not_text: str) -> str | None:
    """The person's message, cleaned and within the limit; None after saying what is wrong."""
    text = service.clean_text(event.text) if event.kind is Kind.TEXT else ""
    if not text:
        ctx.invalid(not_text)
        return None
    if len(text) > service.MAX_TEXT:
        ctx.invalid(
            ctx._(
                "That is {n} characters; please keep it under {limit}.",
                n=len(text),
                limit=service.MAX_TEXT,
            )
        )
        return None
    return text


@cases.step("home")
class Home(Step):
    async def show(self, ctx: Context) -> None:
        if await service.rating_due(ctx.db, ctx.person.id, ctx.now()) is not None:
            return ctx.goto("rate")
        case = await service.active_case(ctx.db, ctx.person.id)
        if case is None:
            return ctx.goto("question" if ctx.data.get("topic") in TOPICS else "topic")
        history = await service.messages(ctx.db, case.id)
        lines = [
            ctx._("State: {state}", state=ctx._(STATES.get(case.state, case.state))),
            ctx._("Opened: {when}", when=ctx.tr.datetime(case.created_at)),
        ]
        for message in history[-3:]:
            who = ctx._("You") if message.author == service.CITIZEN else ctx._("Specialist")
            text = message.text if len(message.text) <= 200 else message.text[:199] + "…"
            lines.append(f"• {who}: {text}")
        ctx.ask(
            "\n".join(lines),
            [
                [ctx.button(ctx._("✍️ Add a message"), "add")],
                [ctx.button(ctx._("✖️ Close the case"), "close")],
            ],
            title=ctx._("Your case {code}", code=case.code),
        )

    async def on_button(self, ctx: Context, payload: str) -> None:
        if payload in ("add", "close"):
            return ctx.goto(payload)
        return ctx.invalid(ctx._("Please choose one of the buttons."))


@cases.step("topic")
class Topic(Step):
    async def show(self, ctx: Context) -> None:
        rows = [[TOPIC.button(code, ctx._(label))] for code, label in TOPICS.items()]
        ctx.ask(
            ctx._(
                "A specialist of the social protection service will answer you here, in this "
                "chat. What is your question about?"
            ),
            rows,
            title=ctx._("Ask a specialist"),
        )

    async def on_button(self, ctx: Context, payload: str) -> None:
        topic = TOPIC.parse(payload)
        if topic not in TOPICS:
            return ctx.invalid(ctx._("Please choose one of the buttons."))
        ctx.data["topic"] = topic
        return ctx.goto("question")


@cases.step("question")
class Question(Step):
    async def show(self, ctx: Context) -> None:
        ctx.ask(
            ctx._(
                "Write your question in one message, in your own words. Please do not send "
                "document numbers or card details."
            )
        )

    async def handle(self, ctx: Context, event: Incoming) -> None:
        text = typed_text(ctx, event, ctx._("Please write your question as a text message."))
        if text is None:
            return None
        ctx.data["text"] = text
        found = await gather(
            ctx.db,
            Resources.of(ctx.runtime.resources),
            ctx.person,
            ctx.data.get("from") or {},
            ctx.now(),
        )
        ctx.data["context"] = found
        return ctx.goto("share" if found else "phone")


@cases.step("share")
class Share(Step):
    async def show(self, ctx: Context) -> None:
        lines = describe(
            ctx.data.get("context") or {}, Resources.of(ctx.runtime.resources), ctx.tr
        )
        ctx.ask(
            ctx._("May I show the specialist what you already told me, so you need not repeat it?")
            + "\n\n"
            + "\n".join(lines),
            [
                [ctx.button(ctx._("Yes, show it"), "yes")],
                [ctx.button(ctx._("No, only my question"), "no")],
            ],
        )

    async def on_button(self, ctx: Context, payload: str) -> None:
        if payload not in ("yes", "no"):
            return ctx.invalid(ctx._("Please choose one of the buttons."))
        ctx.data["share"] = payload == "yes"
        return ctx.goto("phone")


@cases.step("phone")
class Phone(Step):
    async def show(self, ctx: Context) -> None:
        ctx.ask(
            ctx._(
                "If you would like a specialist to be able to call you, share your phone "
                "number. This is optional: only specialists see it, and it is deleted with "
                "the case."
            ),
            [[ctx.button(ctx._("No, answer me here"), "no")]],
            request=Request.PHONE,
            request_label=ctx._("📱 Share my phone number"),
        )

    async def handle(self, ctx: Context, event: Incoming) -> None:
        phone: str | None = None
        if event.kind is Kind.CONTACT:
            phone = service.clean_phone(event.phone or "")
            if phone is None:
                return ctx.invalid(ctx._("I could not read that phone number."))
        elif not (event.kind is Kind.BUTTON and event.payload == "no"):
            return ctx.invalid(
                ctx._("Please use the button to share your number, or answer here.")
            )
        await _open(ctx, phone)


async def _open(ctx: Context, phone: str | None) -> None:
    text = str(ctx.data.get("text") or "")
    topic = str(ctx.data.get("topic") or "")
    if not text or topic not in TOPICS:
        ctx.data.clear()
        return ctx.goto("topic")
    if await service.active_case(ctx.db, ctx.person.id) is not None:
        # Opened meanwhile (another device): the question joins it.
        case = await service.active_case(ctx.db, ctx.person.id)
        assert case is not None
        await service.add_citizen_message(
            ctx.db,
            case,
            text,
            ctx.now(),
            staff_ids=ctx.runtime.settings.staff_ids,
            default_locale=ctx.runtime.settings.default_locale,
        )
    else:
        case = await service.open_case(
            ctx.db,
            ctx.person,
            topic=topic,
            text=text,
            now=ctx.now(),
            phone=phone,
            context=ctx.data.get("context") if ctx.data.get("share") else None,
        )
        await post_new_case(ctx.db, ctx.runtime.settings)
    data = _data(ctx)
    said = ctx._(
        "Your case number is {code}. A specialist will answer in this chat.", code=case.code
    )
    if data is not None:
        said += "\n\n" + expectation_text(ctx, data, await expectation(ctx.db, data, ctx.now()))
    ctx.data.clear()
    ctx.say(said, title=ctx._("Your question is sent"))
    # The case at once, with what can be done next (add a message, close it).
    return ctx.goto("home")


@cases.step("add")
class Add(Step):
    async def show(self, ctx: Context) -> None:
        case = await service.active_case(ctx.db, ctx.person.id)
        if case is None:
            ctx.note(ctx._("You have no open case now."))
            return ctx.goto("home")
        ctx.ask(ctx._("Write your message for case {code}.", code=case.code))

    async def handle(self, ctx: Context, event: Incoming) -> None:
        case = await service.active_case(ctx.db, ctx.person.id)
        if case is None:
            return ctx.goto("home")
        text = typed_text(ctx, event, ctx._("Please write your message as text."))
        if text is None:
            return None
        added = await service.add_citizen_message(
            ctx.db,
            case,
            text,
            ctx.now(),
            staff_ids=ctx.runtime.settings.staff_ids,
            default_locale=ctx.runtime.settings.default_locale,
        )
        ctx.note(
            ctx._("Added to case {code}.", code=case.code)
            if added
            else ctx._("This case has too many messages. Please wait for the specialist.")
        )
        return ctx.goto("home")


@cases.step("close")
class Close(Step):
    async def show(self, ctx: Context) -> None:
        case = await service.active_case(ctx.db, ctx.person.id)
        if case is None:
            ctx.note(ctx._("You have no open case now."))
            return ctx.goto("home")
        ctx.ask(
            ctx._("Close case {code}? Specialists will not answer it any more.", code=case.code),
            [
                [ctx.button(ctx._("Yes, close it"), "yes")],
                [ctx.button(ctx._("No, keep it open"), "no")],
            ],
        )

    async def on_button(self, ctx: Context, payload: str) -> None:
        case = await service.active_case(ctx.db, ctx.person.id)
        if payload == "no" or case is None:
            return ctx.goto("home")
        if payload != "yes":
            return ctx.invalid(ctx._("Please choose one of the buttons."))
        await service.close_by_citizen(ctx.db, case, ctx.now())
        ctx.note(ctx._("Case {code} is closed.", code=case.code))
        return ctx.goto("rate")


def say_thanks(ctx: Context, rating: int | None) -> None:
    if rating is None:
        ctx.note(ctx._("All right. Thank you for using the service."))
    else:
        ctx.note(ctx._("Thank you! Your rating helps us answer better."))


@cases.step("rate")
class Rate(Step):
    async def show(self, ctx: Context) -> None:
        case = await service.rating_due(ctx.db, ctx.person.id, ctx.now())
        if case is None:
            return ctx.menu()
        ctx.data["rate"] = case.id
        ctx.ask(
            ctx._(
                "How satisfied are you with the help on case {code}? "
                "1 — not at all, 5 — completely.",
                code=case.code,
            ),
            [
                [SCORE.button(n, str(n)) for n in range(1, 6)],
                [ctx.button(ctx._("Skip"), "skip")],
            ],
        )

    async def on_button(self, ctx: Context, payload: str) -> None:
        case_id = ctx.data.get("rate")
        value = SCORE.number(payload)
        if not isinstance(case_id, int) or not (payload == "skip" or value in range(1, 6)):
            return ctx.invalid(ctx._("Please choose one of the buttons."))
        rating = None if payload == "skip" else value
        await service.rate(ctx.db, case_id, ctx.person.id, rating, ctx.now())
        say_thanks(ctx, rating)
        return ctx.menu()


class RateFromMessage(Step):
    """A 1–5 button under the "case closed" message: recorded at once, and only once."""

    back = False

    def __init__(self, rating: int) -> None:
        self.rating = rating

    async def show(self, ctx: Context) -> None:
        case = await service.rating_due(ctx.db, ctx.person.id, ctx.now())
        if case is None or not await service.rate(
            ctx.db, case.id, ctx.person.id, self.rating, ctx.now()
        ):
            ctx.note(ctx._("You have already answered this question. Thank you!"))
        else:
            say_thanks(ctx, self.rating)
        return ctx.menu()


for _n in range(1, 6):
    cases.add(f"r{_n}", RateFromMessage(_n))
