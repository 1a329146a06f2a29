"""Contacts and hotlines (shared/domain §5, corrected by benefits-review-2026.md).

No hours for 1545: the hours on its site may be those of the web call, other notices
say the phone line works around the clock, and no official source settles it.
"""

from __future__ import annotations

from bot.engine import Context, Dialog, Link, Step
from dialogs.privacy import public_buttons

contacts = Dialog("contacts", public=True)


@contacts.step("list")
class List(Step):
    async def show(self, ctx: Context) -> None:
        ctx.say(
            ctx._(
                "☎️ 1545: Government contact centre, free. Ask for the social issues "
                "line.\n\n"
                "☎️ 0 800 503 753: Pension Fund of Ukraine contact centre, free. "
                "Benefits, pensions, subsidies, IDP payments.\n\n"
                "📱 Diia: online applications and the IDP certificate.\n\n"
                "🏛 The Ministry of Social Policy, Family and Unity of Ukraine sets the "
                "rules; your social protection office and the Pension Fund apply them.\n\n"
                "In danger? Call 112."
            ),
            public_buttons(ctx, exclude="contacts") if ctx.viewing_only else [],
            title=ctx._("Contacts & hotlines"),
            links=[
                Link(ctx._("Pension Fund of Ukraine"), "https://www.pfu.gov.ua"),
                Link(ctx._("Diia"), "https://diia.gov.ua"),
                Link(
                    ctx._("Ministry of Social Policy, Family and Unity"), "https://www.msp.gov.ua"
                ),
            ],
        )
