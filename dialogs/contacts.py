"""Contacts and hotlines, with their hours (see shared/domain, §5)."""

from __future__ import annotations

from bot.engine import Context, Dialog, Link, Step
from dialogs.privacy import public_buttons

contacts = Dialog("contacts", public=True)


@contacts.step("list")
class List(Step):
    async def show(self, ctx: Context) -> None:
        ctx.say(
            ctx._(
                "☎️ 1545: Government contact centre, free. Mon–Thu 9:00–18:00, "
                "Fri 9:00–16:45. Ask for the social issues line.\n\n"
                "☎️ 0 800 503 753: Pension Fund of Ukraine contact centre, free. "
                "Benefits, pensions, subsidies, IDP payments.\n\n"
                "📱 Diia: online applications and the IDP certificate.\n\n"
                "In danger? Call 112."
            ),
            public_buttons(ctx, exclude="contacts") if ctx.viewing_only else [],
            title=ctx._("Contacts & hotlines"),
            links=[
                Link(ctx._("Pension Fund of Ukraine"), "https://www.pfu.gov.ua"),
                Link(ctx._("Diia"), "https://diia.gov.ua"),
            ],
        )
