"""The main menu: every feature is one tap away."""

from __future__ import annotations

from dataclasses import dataclass

from bot.engine import Context, Dialog, Step
from bot.i18n import N_

menu = Dialog("menu")


@dataclass(frozen=True)
class Item:
    payload: str
    label: str
    dialog: str
    staff_only: bool = False


ITEMS = (
    Item("m:elig", N_("✅ Check eligibility"), "eligibility"),
    Item("m:status", N_("📄 My application status"), "status"),
    Item("m:book", N_("📅 Book an appointment"), "booking"),
    Item("m:office", N_("📍 Find an office"), "offices"),
    Item("m:contacts", N_("☎️ Contacts & hotlines"), "contacts"),
    Item("m:lang", N_("🌐 Language / Мова"), "language"),
    Item("m:about", N_("ℹ️ About & privacy"), "about"),
    Item("m:data", N_("🔒 My data"), "mydata"),
    Item("m:ask", N_("💬 Ask a specialist"), "cases"),
    Item("m:staff", N_("🛠 Staff"), "staff", staff_only=True),
)


def visible_items(ctx: Context) -> list[Item]:
    return [item for item in ITEMS if ctx.is_staff or not item.staff_only]


@menu.step("main")
class Main(Step):
    back = False

    async def show(self, ctx: Context) -> None:
        items = visible_items(ctx)
        rows = [
            [ctx.button(ctx._(item.label), item.payload) for item in items[i : i + 2]]
            for i in range(0, len(items), 2)
        ]
        ctx.ask(ctx._("What do you need? Choose below."), rows, title=ctx._("Main menu"))

    async def on_button(self, ctx: Context, payload: str) -> None:
        item = next((i for i in visible_items(ctx) if i.payload == payload), None)
        if item is None:
            return ctx.invalid(ctx._("Please choose one of the buttons."))
        if not ctx.has_dialog(item.dialog):
            ctx.note(ctx._("This part is coming soon. Thank you for your patience."))
            return ctx.menu()
        return ctx.start(item.dialog)
