"""Check eligibility: a few questions, then the likely benefits, why not the others, and booking.

The questions and programmes are data (DATA_DIR/eligibility, see
docs/eligibility-data.md); the rules live in bot.services.eligibility. This
dialog only asks, checks answers and shows results.

Questions alternate between two steps ("q0", "q1") so that every answer adds
one entry to the engine's history: the engine's Back then returns to the
previous question, and the number of history entries tells how many answers
still stand (later ones are dropped when the person goes back).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.engine import Context, Dialog, Incoming, Kind, Link, Step
from bot.engine.choices import Choices
from bot.i18n import KYIV
from bot.resources import Resources
from bot.services.eligibility.answers import (
    MORE,
    button_payload,
    decode,
    offered_buttons,
    parse,
)
from bot.services.eligibility.model import Active, Eligibility, Question
from bot.services.eligibility.rules import (
    Decision,
    Outcome,
    changes,
    decide,
    next_question,
    reasons,
)
from bot.services.eligibility.wording import amount_line, amount_text, change_text, reason_text

eligibility = Dialog("eligibility")

QUESTION_STEPS = ("q0", "q1")
RESTART = "restart"
DETAIL = Choices("d")  # a programme found eligible, to read about
MAX_NUMBER_BUTTONS_PER_ROW = 6


# -- state -------------------------------------------------------------------------------


def _data(ctx: Context) -> Eligibility | None:
    return Resources.of(ctx.runtime.resources).eligibility


def _on(ctx: Context) -> dt.date:
    """The day whose rules apply: fixed when the check starts, so the answers stay consistent."""
    if "on" not in ctx.data:
        ctx.data["on"] = ctx.now().astimezone(KYIV).date().isoformat()
    return dt.date.fromisoformat(ctx.data["on"])


def _asked(ctx: Context) -> list[str]:
    asked: list[str] = ctx.data.setdefault("asked", [])
    return asked


def _raw(ctx: Context) -> dict[str, Any]:
    raw: dict[str, Any] = ctx.data.setdefault("answers", {})
    return raw


def _keep_answers(ctx: Context, count: int) -> None:
    """Forget answers given after the first `count` (the person went back)."""
    asked, raw = _asked(ctx), _raw(ctx)
    for qid in asked[count:]:
        raw.pop(qid, None)
    del asked[count:]


def _answers(ctx: Context, data: Eligibility) -> dict[str, Any]:
    return decode(data, _raw(ctx))


def _unavailable(ctx: Context) -> None:
    ctx.note(
        ctx._(
            "The eligibility check is not available right now. Please call the government "
            "contact centre 1545 (free)."
        )
    )
    ctx.menu()


def _disclaimer(ctx: Context) -> str:
    return ctx._(
        "This is guidance, not a decision: the Pension Fund or social protection decides. "
        "Questions: Pension Fund 0 800 503 753 (free)."
    )


# -- questions ---------------------------------------------------------------------------


class AskQuestion(Step):
    async def show(self, ctx: Context) -> None:
        data = _data(ctx)
        if data is None:
            return _unavailable(ctx)
        position = len(ctx.state.history)
        _keep_answers(ctx, position)
        answers, on = _answers(ctx, data), _on(ctx)
        question = next_question(data, answers, on)
        if question is None:
            return ctx.goto("result")
        ctx.data["current"] = question.id
        text = question.text(ctx.language)
        if question.hint is not None:
            text += "\n" + question.hint(ctx.language)
        if position == 0:
            text = (
                ctx._(
                    "Let's check which benefits you may be eligible for. I will ask only "
                    "what is needed; ◀ Back changes the previous answer."
                )
                + "\n\n"
                + text
            )
        rows = self._buttons(ctx, data, question, answers, on)
        if position > 0:
            rows.append([ctx.button(ctx._("↺ Start over"), RESTART)])
        ctx.ask(text, rows, title=ctx._("Question {n}", n=position + 1))

    @staticmethod
    def _buttons(
        ctx: Context,
        data: Eligibility,
        question: Question,
        answers: dict[str, Any],
        on: dt.date,
    ) -> list[list[Any]]:
        def button(label: str, code: str) -> Any:
            return ctx.button(label, button_payload(data, question, code))

        if question.type == "yes_no":
            return [[button(ctx._("Yes"), "yes"), button(ctx._("No"), "no")]]
        if question.type == "choice":
            options = [button(o.label(ctx.language), o.id) for o in question.options]
            if all(o.from_ is not None or o.to is not None for o in question.options):
                return [options[i : i + 2] for i in range(0, len(options), 2)]  # short bands
            return [[option] for option in options]
        offered = offered_buttons(data, question, answers, on) if question.type == "number" else []
        if offered:
            numbers = [button(str(n), str(n)) for n in offered]
            # "5+" asks for the exact number; a lone button stays a plain answer
            if (
                question.last_button_plus
                and offered[-1] == question.buttons[-1]
                and len(offered) > 1
            ):
                numbers[-1] = button(f"{offered[-1]}+", MORE)
            return [
                numbers[i : i + MAX_NUMBER_BUTTONS_PER_ROW]
                for i in range(0, len(numbers), MAX_NUMBER_BUTTONS_PER_ROW)
            ]
        return []

    async def handle(self, ctx: Context, event: Incoming) -> None:
        data = _data(ctx)
        if data is None:
            return _unavailable(ctx)
        if event.kind is Kind.BUTTON and event.payload == RESTART:
            return ctx.start("eligibility")
        question = data.questions.get(str(ctx.data.get("current")))
        if question is None:
            return ctx.start("eligibility")  # the data changed under this chat: begin again
        if event.kind not in (Kind.TEXT, Kind.BUTTON):
            return ctx.invalid(ctx._("Please answer with the buttons or type the answer."))
        on = _on(ctx)
        answers = _answers(ctx, data)
        parsed = parse(
            data,
            question,
            text=event.text if event.kind is Kind.TEXT else None,
            payload=event.payload if event.kind is Kind.BUTTON else None,
            answers=answers,
            on=on,
            tr=ctx.tr,
        )
        if parsed.error is not None:
            return ctx.invalid(parsed.error)
        _asked(ctx).append(question.id)
        _raw(ctx)[question.id] = parsed.value
        following = next_question(data, _answers(ctx, data), on)
        if following is None:
            return ctx.goto("result")
        position = len(_asked(ctx))
        ctx.goto(QUESTION_STEPS[position % 2])


for _name in QUESTION_STEPS:
    eligibility.add(_name, AskQuestion())


# -- result ----------------------------------------------------------------------------

#: one message on a phone: the result, each programme's details, each "why not"
MESSAGE_LIMIT = 700


def shown_length(title: str | None, text: str, links: list[Link]) -> int:
    """Characters as the longest rendering shows them: title, text, and Viber's link lines."""
    length = len(f"{title}\n\n{text}" if title else text)
    if links:
        length += 2 + sum(len(f"🔗 {link.label}: {link.url}") + 1 for link in links) - 1
    return length


def _fit(title: str, parts: list[tuple[str, int | None]], links: list[Link]) -> str:
    """The parts joined in order; while too long, drop the optional part (rank not None)
    with the lowest rank. Required parts stay (the data check keeps them short)."""
    kept = list(parts)
    text = "\n\n".join(p for p, _ in kept)
    while shown_length(title, text, links) > MESSAGE_LIMIT:
        optional = [(rank, i) for i, (_, rank) in enumerate(kept) if rank is not None]
        if not optional:
            break
        del kept[min(optional)[1]]
        text = "\n\n".join(p for p, _ in kept)
    return text


def _money_or_depends(
    ctx: Context, data: Eligibility, active: Active, answers: dict[str, Any]
) -> str:
    money = amount_line(data, active, answers, _on(ctx), ctx.tr)
    if money:
        return money
    depends = active.version.amount.depends
    if depends is not None:
        return ctx._("The amount depends on {what}", what=depends(ctx.language))
    return ctx._("The amount: see the details")


def _decisions(ctx: Context, data: Eligibility) -> tuple[list[Decision], dict[str, Any]]:
    answers = _answers(ctx, data)
    return decide(data, answers, _on(ctx)), answers


def _eligible(decisions: list[Decision]) -> list[Decision]:
    return [d for d in decisions if d.outcome is Outcome.ELIGIBLE]


def _nav_rows(ctx: Context, *, back_to_result: bool) -> list[list[Any]]:
    rows = []
    if back_to_result:
        rows.append([ctx.button(ctx._("◀ Back to the result"), "result")])
    rows.append([ctx.button(ctx._("📅 Book an appointment"), "book")])
    rows.append([ctx.button(ctx._("↺ Ask again"), RESTART)])
    return rows


def result_message(
    ctx: Context, data: Eligibility, decisions: list[Decision], answers: dict[str, Any]
) -> tuple[str, str]:
    """The title and text of the result: each likely programme in one or two lines."""
    title = ctx._("Your result")
    eligible = _eligible(decisions)
    if not eligible:
        text = ctx._(
            "Based on your answers, I did not find a programme you are likely eligible for. "
            "“Why not the others?” says what would change it; your social protection office "
            "may know of local help."
        )
        return title, text + "\n\n" + _disclaimer(ctx)
    intro = ctx.n_(
        "Based on your answers, you are likely eligible for {n} programme:",
        "Based on your answers, you are likely eligible for {n} programmes:",
        len(eligible),
    )
    full = []
    short = []
    for decision in eligible:
        programme = decision.active.programme
        money = _money_or_depends(ctx, data, decision.active, answers)
        line = f"• {programme.short_title(ctx.language)}: {money[:1].lower()}{money[1:]}"
        short.append(line)
        full.append(f"{line}\n  → {programme.next_step(ctx.language)}")
    for lines, tail in (
        (full, _disclaimer(ctx)),
        (full, ""),
        (short, ctx._("What to do next: press a programme below.")),
        (short, ""),
    ):
        text = "\n".join([intro, *lines]) + (f"\n\n{tail}" if tail else "")
        if shown_length(title, text, []) <= MESSAGE_LIMIT:
            return title, text
    return title, text


class Result(Step):
    async def show(self, ctx: Context) -> None:
        data = _data(ctx)
        if data is None:
            return _unavailable(ctx)
        decisions, answers = _decisions(ctx, data)
        if not ctx.data.get("counted"):  # for `python -m bot stats`: once per check
            ctx.data["counted"] = True
            ctx.count("completed", "eligibility")
            for found in [d.active.programme.id for d in _eligible(decisions)] or ["none"]:
                ctx.count("eligibility_result", found)
        title, text = result_message(ctx, data, decisions, answers)
        rows = [
            [DETAIL.button(d.id, "ℹ️ " + d.active.programme.short_title(ctx.language))]
            for d in _eligible(decisions)
        ]
        if any(d.outcome is not Outcome.ELIGIBLE for d in decisions):
            rows.append([ctx.button(ctx._("❓ Why not the others?"), "why")])
        if not _eligible(decisions) and ctx.has_dialog("cases"):
            rows.append([ctx.button(ctx._("💬 Ask a specialist"), "ask")])
        rows += _nav_rows(ctx, back_to_result=False)
        ctx.ask(text, rows, title=title)

    async def on_button(self, ctx: Context, payload: str) -> None:
        await _after_result(ctx, payload)


async def _after_result(ctx: Context, payload: str) -> None:
    if (programme := DETAIL.parse(payload)) is not None:
        ctx.data["detail"] = programme
        return ctx.goto("detail")
    if payload == "result":
        return ctx.goto("result")
    if payload == "why":
        return ctx.goto("why")
    if payload == "book":
        if ctx.has_dialog("booking"):
            return ctx.start("booking")
        return ctx.goto("where")
    if payload == RESTART:
        return ctx.start("eligibility")
    if payload == "ask":  # nothing found: a person may still be helped (dialogs/cases.py)
        hint = {"answers": dict(_raw(ctx)), "on": ctx.data.get("on")}
        return ctx.start("cases", {"topic": "benefits", "from": {"eligibility": hint}})
    return ctx.invalid(ctx._("Please choose one of the buttons."))


eligibility.add("result", Result())


def detail_message(
    ctx: Context, data: Eligibility, active: Active, answers: dict[str, Any]
) -> tuple[str, str, list[Link]]:
    """One programme's details: amount, documents, where and how, act, checked-on date."""
    programme, version = active.programme, active.version
    on = _on(ctx)
    title = "ℹ️ " + programme.short_title(ctx.language)
    links = [Link(ctx._("The legal act"), version.sources[0])]
    places = []
    for ref in programme.where:
        place = data.places[ref.place]
        line = place.short_title(ctx.language) + (f" ☎ {place.phone}" if place.phone else "")
        places.append(line + (f" ({ref.note(ctx.language)})" if ref.note is not None else ""))
    documents = "; ".join(doc(ctx.language) for doc in programme.documents)
    # rank: which optional part goes first when the message would not fit one screen
    parts: list[tuple[str, int | None]] = [
        (programme.title(ctx.language), 4),
        (programme.summary(ctx.language), 0),
        ("💰 " + _money_or_depends(ctx, data, active, answers), None),
        (amount_text(data, active, on, ctx.tr), 3),
    ]
    if version.note is not None:
        parts.append((version.note(ctx.language), 2))
    parts.append(("📄 " + ctx._("Documents:") + " " + documents + ".", None))
    parts.append(("📝 " + programme.how_to_apply(ctx.language), None))
    parts.append(("📍 " + ctx._("Where:") + " " + ", ".join(places) + ".", None))
    if version.check is not None:
        parts.append(("⚠️ " + version.check(ctx.language), None))
    checked = ctx._("Checked on {date}", date=ctx.tr.date(version.amount.checked))
    parts.append(("⚖️ " + version.legal_act(ctx.language) + "\n" + checked, None))
    return title, _fit(title, parts, links), links


class Detail(Step):
    async def show(self, ctx: Context) -> None:
        data = _data(ctx)
        if data is None:
            return _unavailable(ctx)
        decisions, answers = _decisions(ctx, data)
        wanted = str(ctx.data.get("detail"))
        found = next((d.active for d in decisions if d.id == wanted), None)
        if found is None:
            return ctx.goto("result")
        title, text, links = detail_message(ctx, data, found, answers)
        ctx.ask(text, _nav_rows(ctx, back_to_result=True), title=title, links=links)

    async def on_button(self, ctx: Context, payload: str) -> None:
        await _after_result(ctx, payload)


eligibility.add("detail", Detail())


def why_not_message(
    ctx: Context, data: Eligibility, decision: Decision, answers: dict[str, Any]
) -> tuple[str, str]:
    """Why one programme does not fit, and the one change that would make it fit."""
    on = _on(ctx)
    active = decision.active
    title = "❌ " + active.programme.short_title(ctx.language)
    if decision.outcome is Outcome.UNDECIDED:
        return "❔ " + active.programme.short_title(ctx.language), ctx._(
            "I could not decide from your answers; please ask at the office."
        )
    lines = [reason_text(r, ctx.tr) for r in reasons(data, active, answers, on)[:1]]
    hints = [h for h in (change_text(r, ctx.tr) for r in changes(data, active, answers, on)) if h]
    if hints:
        lines.append("💡 " + ctx._("It would change {change}.", change=hints[0]))
    parts: list[tuple[str, int | None]] = [
        (line, None if i == 0 else i) for i, line in enumerate(lines)
    ]
    return title, _fit(title, parts, [])


class WhyNot(Step):
    async def show(self, ctx: Context) -> None:
        data = _data(ctx)
        if data is None:
            return _unavailable(ctx)
        decisions, answers = _decisions(ctx, data)
        for decision in decisions:
            if decision.outcome is Outcome.ELIGIBLE:
                continue
            title, text = why_not_message(ctx, data, decision, answers)
            ctx.say(text, title=title)
        ctx.ask(
            _disclaimer(ctx),
            _nav_rows(ctx, back_to_result=True),
            title=ctx._("Why not the others?"),
        )

    async def on_button(self, ctx: Context, payload: str) -> None:
        await _after_result(ctx, payload)


eligibility.add("why", WhyNot())


class WhereToApply(Step):
    """Shown instead of booking while the bot has no booking dialog."""

    async def show(self, ctx: Context) -> None:
        data = _data(ctx)
        if data is None:
            return _unavailable(ctx)
        decisions, _ = _decisions(ctx, data)
        wanted = [d.active for d in decisions if d.outcome is Outcome.ELIGIBLE]
        place_ids: list[str] = []
        for active in wanted or [d.active for d in decisions]:
            place_ids += [r.place for r in active.programme.where if r.place not in place_ids]
        lines, links = [], []
        for place_id in place_ids:
            place = data.places[place_id]
            line = f"• {place.title(ctx.language)}"
            if place.details is not None:
                line += f"\n  {place.details(ctx.language)}"
            if place.phone:
                line += f"\n  ☎ {place.phone}"
            lines.append(line)
            if place.url:
                links.append(Link(place.title(ctx.language), place.url))
        text = (
            ctx._("Online booking is not available in this bot yet. You can apply here:")
            + "\n\n"
            + "\n".join(lines)
            + "\n\n"
            + _disclaimer(ctx)
        )
        ctx.ask(
            text,
            [[ctx.button(ctx._("↺ Start over"), RESTART)]],
            title=ctx._("Where to apply"),
            links=links,
        )

    async def on_button(self, ctx: Context, payload: str) -> None:
        if payload == RESTART:
            return ctx.start("eligibility")
        return ctx.invalid(ctx._("Please choose one of the buttons."))


eligibility.add("where", WhereToApply())
