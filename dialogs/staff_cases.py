"""Staff: cases waiting for an answer — take one, reply (or send a ready answer), hand back, close.

Only people in STAFF_IDS reach these steps: the dialog is `staff_only`, so the
engine refuses it to anyone else whatever they press or type, and it asks the
settings on every event, so removing someone from STAFF_IDS takes effect at
their next message. Payloads carry case ids, never personal data; every read
and change of a case is in the audit log.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.engine import Context, Dialog, Incoming, Kind, Step
from bot.engine.choices import Choices
from bot.i18n import N_
from bot.resources import Resources
from bot.services.cases import service
from bot.services.cases.context import describe
from bot.services.cases.data import CasesData
from bot.services.stats.counting import Period, collect
from bot.services.stats.report import render
from dialogs.cases import TOPICS, duration_text
from storage.models.cases import OPEN, TAKEN, Case

staff_cases = Dialog("staff_cases", staff_only=True, entry_steps=("list", "stats"))

CASE = Choices("c")
CANNED = Choices("k")  # a ready answer's id (cases/cases.yaml)
REASON = Choices("why")  # why a case is closed: a key of REASONS

REASONS = {
    "answered": N_("✅ Answered"),
    "referred": N_("↗️ Referred elsewhere"),
    "duplicate": N_("♊ Duplicate"),
    "no_reply": N_("⌛ No reply from the person"),
}
LANGUAGES = {"uk": "🇺🇦 uk", "en": "🇬🇧 en"}


def me(ctx: Context) -> str:
    return f"{ctx.event.platform}:{ctx.event.user_id}"


def staff_ids(ctx: Context) -> frozenset[str]:
    return ctx.runtime.settings.staff_ids


def _case_id(ctx: Context) -> int:
    value = ctx.data.get("case")
    return value if isinstance(value, int) else 0


def _canned(ctx: Context) -> CasesData | None:
    return Resources.of(ctx.runtime.resources).cases


def waited(ctx: Context, since: datetime) -> str:
    return duration_text(ctx, ctx.now() - since)


def is_mine(ctx: Context, case: Case) -> bool:
    return case.state == TAKEN and case.assignee == me(ctx)


def is_free(ctx: Context, case: Case) -> bool:
    return case.state == OPEN or (case.state == TAKEN and case.assignee not in staff_ids(ctx))


@staff_cases.step("list")
class Queue(Step):
    async def show(self, ctx: Context) -> None:
        items = await service.queue(ctx.db, me(ctx), staff_ids(ctx))
        people = {
            p.id: p
            for p in [await service.person_of(ctx.db, case) for case in items]
            if p is not None
        }
        rows = []
        for case in items:
            person = people.get(case.person_id)
            language = LANGUAGES.get(person.locale or "", "?") if person else "?"
            platform = person.platform if person else "?"
            mark = "✋ " if is_mine(ctx, case) else ""
            label = (
                f"{mark}{case.code} · {ctx._(TOPICS.get(case.topic, case.topic))} · "
                f"{language} · {platform} · {waited(ctx, case.created_at)}"
            )
            rows.append([CASE.button(case.id, label)])
        rows.append([ctx.button(ctx._("🔄 Refresh"), "refresh")])
        ctx.ask(
            ctx._("Open cases, oldest first. ✋ marks the ones you hold.")
            if items
            else ctx._("No open cases. Well done!"),
            rows,
            title=ctx._("Cases"),
        )

    async def on_button(self, ctx: Context, payload: str) -> None:
        if payload == "refresh":
            return ctx.goto("list")
        case_id = CASE.number(payload)
        case = await service.get_case(ctx.db, case_id) if case_id is not None else None
        if case is None:
            return ctx.invalid(ctx._("Please choose one of the buttons."))
        ctx.data["case"] = case.id
        await service.viewed(ctx.db, case.id, me(ctx))
        return ctx.goto("case")


@staff_cases.step("case")
class ShowCase(Step):
    async def show(self, ctx: Context) -> None:
        case = await service.get_case(ctx.db, _case_id(ctx))
        if case is None:
            ctx.note(ctx._("This case no longer exists (the person deleted their data)."))
            return ctx.goto("list")
        person = await service.person_of(ctx.db, case)
        holder = ctx._("you") if is_mine(ctx, case) else (case.assignee or ctx._("nobody"))
        lines = [
            ctx._("Topic: {topic}", topic=ctx._(TOPICS.get(case.topic, case.topic))),
            ctx._(
                "Person: {platform}, language {language}",
                platform=person.platform if person else "?",
                language=(person.locale or "?") if person else "?",
            ),
            ctx._(
                "Opened {when}; waiting for {wait}",
                when=ctx.tr.datetime(case.created_at),
                wait=waited(ctx, case.created_at),
            ),
            ctx._("Held by: {holder}", holder=holder),
        ]
        if case.phone:
            lines.append(ctx._("Phone (shared with consent): {phone}", phone=case.phone))
        shared = describe(case.context or {}, Resources.of(ctx.runtime.resources), ctx.tr)
        if shared:
            lines.append(ctx._("Shared by the person:"))
            lines.extend(shared)
        history = await service.messages(ctx.db, case.id)
        for message in history[-8:]:
            who = ctx._("Person") if message.author == service.CITIZEN else ctx._("Specialist")
            when = ctx.tr.datetime(message.created_at)
            lines.append(f"\n{who}, {when}:\n{message.text}")
        rows = []
        if is_mine(ctx, case):
            rows += [
                [ctx.button(ctx._("✍️ Reply"), "reply")],
                [ctx.button(ctx._("📋 Ready answer"), "canned")],
                [ctx.button(ctx._("↩️ Hand back"), "handback")],
                [ctx.button(ctx._("✅ Close"), "close")],
            ]
        elif is_free(ctx, case):
            rows.append([ctx.button(ctx._("✋ Take this case"), "take")])
        rows.append([ctx.button(ctx._("📥 All cases"), "list")])
        ctx.ask("\n".join(lines)[:3900], rows, title=ctx._("Case {code}", code=case.code))

    async def on_button(self, ctx: Context, payload: str) -> None:
        case_id = _case_id(ctx)
        if payload == "list":
            return ctx.goto("list")
        if payload == "take":
            if await service.take(ctx.db, case_id, me(ctx), staff_ids(ctx), ctx.now()):
                ctx.note(ctx._("The case is yours now."))
            else:
                ctx.note(ctx._("Someone else has just taken this case."))
            return ctx.goto("case")
        if payload in ("reply", "canned", "close"):
            return ctx.goto(payload)
        if payload == "handback":
            if await service.hand_back(ctx.db, case_id, me(ctx), staff_ids(ctx), ctx.now()):
                ctx.note(ctx._("Handed back: any colleague can take it now."))
                return ctx.goto("list")
            return ctx.goto("case")
        return ctx.invalid(ctx._("Please choose one of the buttons."))


async def _send(ctx: Context, text: str, canned: str | None = None) -> None:
    sent = await service.reply(
        ctx.db,
        _case_id(ctx),
        me(ctx),
        text,
        ctx.now(),
        staff_ids=staff_ids(ctx),
        default_locale=ctx.runtime.settings.default_locale,
        canned=canned,
    )
    if sent is None:
        ctx.note(ctx._("You do not hold this case any more; nothing was sent."))
    else:
        ctx.note(ctx._("Sent to the person."))
    ctx.goto("case")


@staff_cases.step("reply")
class Reply_(Step):
    async def show(self, ctx: Context) -> None:
        ctx.ask(
            ctx._(
                "Write your answer as one message. The person receives exactly this text, "
                "in their messenger."
            )
        )

    async def handle(self, ctx: Context, event: Incoming) -> None:
        text = service.clean_text(event.text) if event.kind is Kind.TEXT else ""
        if not text:
            return ctx.invalid(ctx._("Please write the answer as one text message."))
        if len(text) > service.MAX_TEXT:
            return ctx.invalid(
                ctx._(
                    "That is {n} characters; the limit is {limit}.",
                    n=len(text),
                    limit=service.MAX_TEXT,
                )
            )
        await _send(ctx, text)


@staff_cases.step("canned")
class Canned(Step):
    async def show(self, ctx: Context) -> None:
        data = _canned(ctx)
        answers = data.canned if data else []
        if not answers:
            ctx.note(ctx._("There are no ready answers in the data yet (cases/cases.yaml)."))
            return ctx.goto("case")
        ctx.ask(
            ctx._("Choose a ready answer; you will see it before it is sent."),
            [[CANNED.button(a.id, a.title(ctx.language))] for a in answers],
        )

    async def on_button(self, ctx: Context, payload: str) -> None:
        data = _canned(ctx)
        answer_id = CANNED.parse(payload)
        answer = data.canned_answer(answer_id) if data and answer_id else None
        if answer is None:
            return ctx.invalid(ctx._("Please choose one of the buttons."))
        ctx.data["canned"] = answer.id
        return ctx.goto("canned_send")


async def _person_language(ctx: Context) -> str:
    case = await service.get_case(ctx.db, _case_id(ctx))
    person = await service.person_of(ctx.db, case) if case else None
    return (person.locale if person else None) or ctx.runtime.settings.default_locale


@staff_cases.step("canned_send")
class CannedSend(Step):
    async def show(self, ctx: Context) -> None:
        data = _canned(ctx)
        answer = data.canned_answer(str(ctx.data.get("canned", ""))) if data else None
        if answer is None:
            return ctx.goto("canned")
        language = await _person_language(ctx)
        ctx.ask(
            ctx._("The person will receive this ({language}):", language=language)
            + "\n\n"
            + answer.text(language),
            [[ctx.button(ctx._("📤 Send"), "send")]],
        )

    async def on_button(self, ctx: Context, payload: str) -> None:
        data = _canned(ctx)
        answer = data.canned_answer(str(ctx.data.get("canned", ""))) if data else None
        if payload != "send" or answer is None:
            return ctx.invalid(ctx._("Please choose one of the buttons."))
        language = await _person_language(ctx)
        ctx.data.pop("canned", None)
        await _send(ctx, answer.text(language), canned=answer.id)


@staff_cases.step("close")
class CloseCase(Step):
    async def show(self, ctx: Context) -> None:
        ctx.ask(
            ctx._("Why is the case closed? The person is told, and asked to rate the help."),
            [[REASON.button(code, ctx._(label))] for code, label in REASONS.items()],
        )

    async def on_button(self, ctx: Context, payload: str) -> None:
        reason = REASON.parse(payload)
        if reason not in REASONS:
            return ctx.invalid(ctx._("Please choose one of the buttons."))
        closed = await service.close_by_staff(
            ctx.db,
            _case_id(ctx),
            me(ctx),
            reason,
            ctx.now(),
            staff_ids=staff_ids(ctx),
            default_locale=ctx.runtime.settings.default_locale,
        )
        if closed:
            ctx.note(ctx._("Closed. The person has been told."))
        else:
            ctx.note(ctx._("You do not hold this case any more; it was not closed."))
        return ctx.goto("list")


PERIODS = {"p:7": 7, "p:30": 30, "p:all": None}


@staff_cases.step("stats")
class Statistics(Step):
    """The same numbers as `python -m bot stats`, for the last days or all time."""

    async def show(self, ctx: Context) -> None:
        days = ctx.data.get("days")
        start = ctx.now() - timedelta(days=days) if isinstance(days, int) else None
        found = await collect(ctx.db, Period(start=start))
        ctx.ask(
            render(found, Resources.of(ctx.runtime.resources), ctx.tr)[:3900],
            [
                [
                    ctx.button(ctx._("7 days"), "p:7"),
                    ctx.button(ctx._("30 days"), "p:30"),
                    ctx.button(ctx._("All time"), "p:all"),
                ]
            ],
            title=ctx._("Statistics"),
        )

    async def on_button(self, ctx: Context, payload: str) -> None:
        if payload not in PERIODS:
            return ctx.invalid(ctx._("Please choose one of the buttons."))
        ctx.data["days"] = PERIODS[payload]
        return ctx.goto("stats")
