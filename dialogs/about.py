"""About the bot and the privacy notice, readable at any time."""

from __future__ import annotations

from bot.engine import Context, Dialog, Step
from dialogs.privacy import notice_text, public_buttons

about = Dialog("about", public=True)


@about.step("about")
class About(Step):
    async def show(self, ctx: Context) -> None:
        ctx.say(
            ctx._(
                "Poruch helps you find your way through social services: which benefits you "
                "may get, the status of your application, and booking an office visit.\n"
                "The answers are guidance, not an official decision."
            ),
            title=ctx._("About Poruch"),
        )
        ctx.say(
            notice_text(ctx),
            public_buttons(ctx, exclude="about")
            if ctx.viewing_only
            else [[ctx.button(ctx._("🔒 My data"), "data")]],
            title=ctx._("Your data"),
        )

    async def on_button(self, ctx: Context, payload: str) -> None:
        if payload == "data":
            return ctx.start("mydata")
        return ctx.invalid(ctx._("Please choose one of the buttons."))
