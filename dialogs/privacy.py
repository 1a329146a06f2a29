"""The short privacy notice shown at first contact (and once again after it changes)."""

from __future__ import annotations

from bot.engine import Button, Context, Dialog, Step
from bot.engine.globals import Global, public_payload
from bot.i18n import N_
from bot.services import privacy
from bot.services.personal_data import erase_person

privacy_notice = Dialog("privacy")


def notice_text(ctx: Context) -> str:
    return ctx._(
        "What I store: your messenger id, chosen language, the answers and bookings you "
        "make here, and the applications you follow.\n"
        "Why: only to answer you and to remind you about your own affairs.\n"
        "How long: until you delete it, or 12 months after your last message.\n"
        "Delete it any time: Menu → My data → Delete my data.\n"
        "I never ask for passwords or card numbers."
    )


@privacy_notice.step("notice")
class Notice(Step):
    back = False

    async def show(self, ctx: Context) -> None:
        if privacy.first_time(ctx.person):
            ctx.ask(
                notice_text(ctx),
                [
                    [ctx.button(ctx._("✅ I agree"), "agree")],
                    [ctx.button(ctx._("No, delete my data"), "decline")],
                ],
                title=ctx._("Your data"),
            )
        else:
            # An updated notice is shown once; using the bot afterwards is the agreement.
            privacy.accept(ctx.person, ctx.now())
            ctx.ask(
                notice_text(ctx),
                [[ctx.button(ctx._("OK"), "agree")]],
                title=ctx._("Our privacy notice has changed"),
            )

    async def on_button(self, ctx: Context, payload: str) -> None:
        if payload == "agree":
            privacy.accept(ctx.person, ctx.now())
            ctx.note(ctx._("Thank you."))  # the menu asks what they need: ask once
            return ctx.menu()
        if payload == "decline":
            await erase_person(ctx.db, ctx.person, ctx.runtime.personal_data)
            ctx.forget_person()
            return say_goodbye(ctx)
        return ctx.invalid(ctx._("Please choose one of the buttons."))


#: what someone who did not accept the notice may still read (public dialogs)
PUBLIC = (
    ("contacts", N_("☎️ Contacts & hotlines")),
    ("about", N_("ℹ️ About & privacy")),
)


def public_buttons(ctx: Context, *, exclude: str = "") -> list[list[Button]]:
    """Contacts and About, readable without storing anything, and a fresh start."""
    row = [
        ctx.button(ctx._(label), public_payload(name, ctx.language))
        for name, label in PUBLIC
        if name != exclude
    ]
    return [row, [ctx.button(ctx._("Start again"), Global.START.value)]]


def say_goodbye(ctx: Context) -> None:
    ctx.say(
        ctx._(
            "I have deleted what I stored about you. If you write again, I will start from "
            "the beginning. You can still read the contacts and hotlines here, and nothing "
            "will be stored. Government contact centre: 1545."
        ),
        public_buttons(ctx),
    )
