"""My data: see everything stored, switch announcements, delete it all."""

from __future__ import annotations

from bot.engine import Context, Dialog, Step
from bot.services.personal_data import describe_everything, erase_person
from dialogs.privacy import say_goodbye

mydata = Dialog("mydata")


@mydata.step("show")
class Show(Step):
    async def show(self, ctx: Context) -> None:
        lines = await describe_everything(ctx.db, ctx.person, ctx.tr, ctx.runtime.personal_data)
        toggle = (
            ctx.button(ctx._("🔕 Stop announcements"), "news:off")
            if ctx.person.announcements
            else ctx.button(ctx._("🔔 Receive announcements"), "news:on")
        )
        ctx.ask(
            "\n".join(f"• {line}" for line in lines),
            [[toggle], [ctx.button(ctx._("🗑 Delete my data"), "delete")]],
            title=ctx._("What I store about you"),
        )

    async def on_button(self, ctx: Context, payload: str) -> None:
        if payload in ("news:off", "news:on"):
            # A change is confirmed first: a number typed for another screen (the
            # terminal numbers buttons) must not switch anything on or off.
            ctx.data["news"] = payload == "news:on"
            return ctx.goto("news")
        if payload == "delete":
            return ctx.goto("confirm")
        return ctx.invalid(ctx._("Please choose one of the buttons."))


@mydata.step("news")
class News(Step):
    async def show(self, ctx: Context) -> None:
        if ctx.data.get("news"):
            question = ctx._("Receive announcements from the social services again?")
            yes = ctx._("Yes, receive them")
        else:
            question = ctx._(
                "Stop announcements? Messages about your own applications and "
                "appointments still come."
            )
            yes = ctx._("Yes, stop announcements")
        ctx.ask(
            question,
            [[ctx.button(yes, "yes")], [ctx.button(ctx._("No, leave as it is"), "no")]],
        )

    async def on_button(self, ctx: Context, payload: str) -> None:
        if payload == "no":
            ctx.note(ctx._("Nothing was changed."))
            return ctx.back()
        if payload != "yes":
            return ctx.invalid(ctx._("Please choose one of the buttons."))
        ctx.person.announcements = bool(ctx.data.pop("news", False))
        ctx.note(
            ctx._("Done: you will receive announcements.")
            if ctx.person.announcements
            else ctx._("Done: no more announcements. You can turn them on again in “My data”.")
        )
        return ctx.menu()


@mydata.step("confirm")
class Confirm(Step):
    async def show(self, ctx: Context) -> None:
        ctx.ask(
            ctx._(
                "Delete everything I store about you: language, answers, followed "
                "applications and appointments? This cannot be undone."
            ),
            [
                [ctx.button(ctx._("Yes, delete everything"), "yes")],
                [ctx.button(ctx._("No, keep it"), "no")],
            ],
        )

    async def on_button(self, ctx: Context, payload: str) -> None:
        if payload == "yes":
            await erase_person(ctx.db, ctx.person, ctx.runtime.personal_data)
            ctx.forget_person()
            return say_goodbye(ctx)
        if payload == "no":
            ctx.note(ctx._("Nothing was deleted."))
            return ctx.menu()
        return ctx.invalid(ctx._("Please choose one of the buttons."))
