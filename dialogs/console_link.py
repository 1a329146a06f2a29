"""Staff: `/console` gives a one-time sign-in link to the staff web console.

Staff only: for anyone else the command does not exist (the engine answers as
for any unknown command), so nobody learns there is a console at all.
"""

from __future__ import annotations

from bot.console.auth import issue_link, link_url
from bot.engine import Context, Dialog, Step
from bot.engine.events import Link

console_link = Dialog("console_link", staff_only=True)


@console_link.step("link")
class SignInLink(Step):
    async def show(self, ctx: Context) -> None:
        settings = ctx.runtime.settings
        staff_id = f"{ctx.event.platform}:{ctx.event.user_id}"
        token = await issue_link(ctx.db, settings, staff_id, ctx.now(), via="chat")
        url = link_url(settings, token)
        ctx.ask(
            ctx._(
                "Your sign-in link to the staff console. It works once, within 10 minutes. "
                "Do not forward it: whoever opens it signs in as you."
            ),
            links=[Link(ctx._("Open the staff console"), url)],
            title=ctx._("Staff console"),
        )
