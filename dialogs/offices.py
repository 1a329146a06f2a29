"""Find an office: the nearest ones to a shared location, or those of an oblast,
with today's hours and the phone; one tap to book there."""

from __future__ import annotations

from bot.engine import Context, Dialog, Incoming, Kind, Step
from bot.engine.choices import Choices
from bot.services.booking import texts
from bot.services.booking.slots import local_day
from dialogs.booking_common import (
    answer_where,
    ask_location,
    catalog,
    chosen,
    demo_note,
    oblast_buttons,
    oblast_from_payload,
    remember_region,
    sorted_oblasts,
)

offices_dialog = Dialog("offices")

BOOK = Choices("b")  # book at the office at this position in chosen(ctx)["offices"]


@offices_dialog.step("how")
class How(Step):
    async def show(self, ctx: Context) -> None:
        if not catalog(ctx).offices:
            ctx.note(ctx._("No offices are set up yet."))
            return ctx.menu()
        ask_location(
            ctx,
            ctx._(
                "Send your location and I will show the three nearest offices, "
                "or choose the oblast."
            ),
            [[ctx.button(ctx._("🗺 Choose the oblast"), "obl")]],
        )

    async def handle(self, ctx: Context, event: Incoming) -> None:
        answer_where(ctx, event, list(catalog(ctx).offices.values()), "list")


@offices_dialog.step("oblast")
class Oblast(Step):
    async def show(self, ctx: Context) -> None:
        oblasts = sorted_oblasts(ctx, catalog(ctx).oblasts_with_offices())
        ctx.ask(ctx._("Choose the oblast:"), oblast_buttons(ctx, oblasts))

    async def on_button(self, ctx: Context, payload: str) -> None:
        data = catalog(ctx)
        oblast = oblast_from_payload(data, payload)
        if oblast is None:
            return ctx.invalid(ctx._("Please choose one of the buttons."))
        await remember_region(ctx, oblast)
        chosen(ctx)["offices"] = [o.id for o in data.offices.values() if o.oblast == oblast.code]
        chosen(ctx)["km"] = None
        return ctx.goto("list")


@offices_dialog.step("list")
class List(Step):
    async def show(self, ctx: Context) -> None:
        data = catalog(ctx)
        km: list[float] | None = chosen(ctx).get("km")
        offices = [
            o for i in chosen(ctx).get("offices") or [] if (o := data.office(i)) is not None
        ]
        today = local_day(ctx.now())
        cards = [
            texts.office_card(ctx.tr, data, office, today, km[n] if km else None)
            for n, office in enumerate(offices)
        ]
        buttons = [
            [BOOK.button(n, ctx._("📅 Book: {office}", office=office.name.in_(ctx.language)))]
            for n, office in enumerate(offices)
        ]
        ctx.ask("\n\n".join(cards) + demo_note(ctx, offices), buttons, title=ctx._("Offices"))

    async def handle(self, ctx: Context, event: Incoming) -> None:
        if event.kind is Kind.LOCATION:  # moved on, or shared the wrong place first
            return answer_where(ctx, event, list(catalog(ctx).offices.values()), "list")
        return await super().handle(ctx, event)

    async def on_button(self, ctx: Context, payload: str) -> None:
        ids: list[str] = chosen(ctx).get("offices") or []
        index = BOOK.index(payload, len(ids))
        if index is None:
            return ctx.invalid(ctx._("Please choose one of the buttons."))
        return ctx.start("booking", {"office": ids[index]})
