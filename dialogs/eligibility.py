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
from bot.i18n import KYIV
from bot.services.eligibility.answers import button_payload, decode, parse
from bot.services.eligibility.engine import (
    Decision,
    Outcome,
    changes,
    decide,
    next_question,
    reasons,
)
from bot.services.eligibility.model import Active, Eligibility, Question
from bot.services.eligibility.wording import amount_line, amount_text, change_text, reason_text

eligibility = Dialog("eligibility")

QUESTION_STEPS = ("q0", "q1")
RESTART = "restart"
MAX_NUMBER_BUTTONS_PER_ROW = 6


# -- state -------------------------------------------------------------------------------


def _data(ctx: Context) -> Eligibility | None:
    value = ctx.runtime.resources.get("eligibility")
    return value if isinstance(value, Eligibility) else None


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
    ctx.say(
        ctx._(
            "The eligibility check is not available right now. Please call the government "
            "contact centre 1545 (free)."
        )
    )
    ctx.menu()


def _disclaimer(ctx: Context) -> str:
    return ctx._(
        "This is guidance, not an official decision: the Pension Fund or the social "
        "protection department decides on your application. Questions: government "
        "hotline 1545 (free)."
    )


# -- questions ---------------------------------------------------------------------------


class AskQuestion(Step):
    async def show(self, ctx: Context) -> None:
        data = _data(ctx)
        if data is None:
            return _unavailable(ctx)
        position = len(ctx.state.history)
        _keep_answers(ctx, position)
        question = next_question(data, _answers(ctx, data), _on(ctx))
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
        rows = self._buttons(ctx, data, question)
        if position > 0:
            rows.append([ctx.button(ctx._("↺ Start over"), RESTART)])
        ctx.ask(text, rows, title=ctx._("Question {n}", n=position + 1))

    @staticmethod
    def _buttons(ctx: Context, data: Eligibility, question: Question) -> list[list[Any]]:
        def button(label: str, code: str) -> Any:
            return ctx.button(label, button_payload(data, question, code))

        if question.type == "yes_no":
            return [[button(ctx._("Yes"), "yes"), button(ctx._("No"), "no")]]
        if question.type == "choice":
            return [[button(o.label(ctx.language), o.id)] for o in question.options]
        if question.type == "number" and question.buttons:
            numbers = [button(str(n), str(n)) for n in question.buttons]
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


# -- result ------------------------------------------------------------------------------


def _place_lines(ctx: Context, data: Eligibility, active: Active) -> tuple[list[str], list[Link]]:
    lines, links = [], []
    for ref in active.programme.where:
        place = data.places[ref.place]
        line = f"• {place.title(ctx.language)}"
        if place.phone:
            line += f" — ☎ {place.phone}"
        if ref.note is not None:
            line += f" ({ref.note(ctx.language)})"
        lines.append(line)
        if place.url:
            links.append(Link(place.title(ctx.language), place.url))
    return lines, links


def _card(ctx: Context, data: Eligibility, active: Active, answers: dict[str, Any]) -> None:
    on = _on(ctx)
    programme, version = active.programme, active.version
    parts = [programme.summary(ctx.language)]
    money = amount_line(data, active, answers, on, ctx.tr)
    amount_lines = [f"💰 {money}"] if money else ["💰 " + ctx._("Amount:")]
    amount_lines.append(amount_text(data, active, on, ctx.tr))
    if version.note is not None:
        amount_lines.append(version.note(ctx.language))
    amount_lines.append(
        ctx._(
            "Checked on {date}. Source: {url}",
            date=ctx.tr.date(version.amount.checked),
            url=version.amount.source,
        )
    )
    parts.append("\n".join(amount_lines))
    parts.append(
        "📄 "
        + ctx._("Documents:")
        + "\n"
        + "\n".join(f"• {doc(ctx.language)}" for doc in programme.documents)
    )
    parts.append("📝 " + programme.how_to_apply(ctx.language))
    places, links = _place_lines(ctx, data, active)
    parts.append("📍 " + ctx._("Where to apply:") + "\n" + "\n".join(places))
    parts.append("⚖️ " + version.legal_act(ctx.language))
    ctx.say("\n\n".join(parts), title=f"✅ {programme.title(ctx.language)}", links=links)


def _after_result_buttons(ctx: Context, *, why: bool) -> list[list[Any]]:
    rows = []
    if why:
        rows.append([ctx.button(ctx._("❓ Why not the others?"), "why")])
    rows.append([ctx.button(ctx._("📅 Book an appointment"), "book")])
    rows.append([ctx.button(ctx._("↺ Start over"), RESTART)])
    return rows


def _decisions(ctx: Context, data: Eligibility) -> tuple[list[Decision], dict[str, Any]]:
    answers = _answers(ctx, data)
    return decide(data, answers, _on(ctx)), answers


class Result(Step):
    async def show(self, ctx: Context) -> None:
        data = _data(ctx)
        if data is None:
            return _unavailable(ctx)
        decisions, answers = _decisions(ctx, data)
        eligible = [d for d in decisions if d.outcome is Outcome.ELIGIBLE]
        others = [d for d in decisions if d.outcome is not Outcome.ELIGIBLE]
        if not ctx.data.get("counted"):  # for `python -m bot stats`: once per check
            ctx.data["counted"] = True
            ctx.count("completed", "eligibility")
            for found in [d.active.programme.id for d in eligible] or ["none"]:
                ctx.count("eligibility_result", found)
        if eligible:
            summary = [
                ctx.n_(
                    "Based on your answers, you are likely eligible for {n} programme:",
                    "Based on your answers, you are likely eligible for {n} programmes:",
                    len(eligible),
                )
            ]
            for decision in eligible:
                line = f"• {decision.active.programme.title(ctx.language)}"
                money = amount_line(data, decision.active, answers, _on(ctx), ctx.tr)
                if money:
                    line += f" — {money[:1].lower()}{money[1:]}"
                summary.append(line)
            ctx.say("\n".join(summary), title=ctx._("Your result"))
            for decision in eligible:
                _card(ctx, data, decision.active, answers)
            closing = _disclaimer(ctx)
        else:
            ctx.say(
                ctx._(
                    "Based on your answers, I did not find a programme you are likely "
                    "eligible for. Your situation may still qualify for local help: ask your "
                    "hromada's social protection department."
                ),
                title=ctx._("Your result"),
            )
            closing = _disclaimer(ctx)
        rows = _after_result_buttons(ctx, why=bool(others))
        if not eligible and "cases" in ctx.runtime.dialogs:
            rows.insert(0, [ctx.button(ctx._("💬 Ask a specialist"), "ask")])
        ctx.ask(closing, rows)

    async def on_button(self, ctx: Context, payload: str) -> None:
        await _after_result(ctx, payload)


async def _after_result(ctx: Context, payload: str) -> None:
    if payload == "why":
        return ctx.goto("why")
    if payload == "book":
        if "booking" in ctx.runtime.dialogs:
            return ctx.start("booking")
        return ctx.goto("where")
    if payload == RESTART:
        return ctx.start("eligibility")
    if payload == "ask":  # nothing found: a person may still be helped (dialogs/cases.py)
        hint = {"answers": dict(_raw(ctx)), "on": ctx.data.get("on")}
        return ctx.start("cases", {"topic": "benefits", "from": {"eligibility": hint}})
    return ctx.invalid(ctx._("Please choose one of the buttons."))


eligibility.add("result", Result())


class WhyNot(Step):
    async def show(self, ctx: Context) -> None:
        data = _data(ctx)
        if data is None:
            return _unavailable(ctx)
        decisions, answers = _decisions(ctx, data)
        on = _on(ctx)
        blocks = []
        for decision in decisions:
            active = decision.active
            title = active.programme.title(ctx.language)
            if decision.outcome is Outcome.ELIGIBLE:
                continue
            if decision.outcome is Outcome.UNDECIDED:
                blocks.append(
                    f"❔ {title}\n"
                    + ctx._("I could not decide from your answers; please ask at the office.")
                )
                continue
            lines = [f"❌ {title}"]
            # the first reason only: one clear sentence reads better than a list on a phone
            lines += [reason_text(r, ctx.tr) for r in reasons(data, active, answers, on)[:1]]
            hints = [
                h
                for h in (change_text(r, ctx.tr) for r in changes(data, active, answers, on))
                if h
            ]
            if hints:
                lines.append("💡 " + ctx._("It would change {change}.", change=hints[0]))
            blocks.append("\n".join(lines))
        blocks.append(_disclaimer(ctx))
        ctx.ask(
            "\n\n".join(blocks),
            _after_result_buttons(ctx, why=False),
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
