"""Choose the language: asked at first contact, changeable at any time."""

from __future__ import annotations

from bot.engine import Context, Dialog, Step
from bot.engine.choices import Choices
from bot.services import privacy

language = Dialog("language")

NAMES = {"uk": "🇺🇦 Українська", "en": "🇬🇧 English"}
LANGUAGE = Choices("lang")


@language.step("choose")
class Choose(Step):
    async def show(self, ctx: Context) -> None:
        # Both languages on one screen: the person may not read the current one.
        # Always in the same order, so the buttons never swap places under a finger.
        ctx.ask(
            "Оберіть мову, будь ласка.\nPlease choose your language.",
            [[LANGUAGE.button(code, name) for code, name in NAMES.items()]],
        )

    async def on_button(self, ctx: Context, payload: str) -> None:
        code = LANGUAGE.parse(payload)
        if code not in NAMES:
            return ctx.invalid("Оберіть мову кнопкою. / Please choose with a button.")
        ctx.use_language(code)
        if privacy.pending(ctx.person):
            return ctx.start("privacy")
        ctx.note(ctx._("Done: I will speak English."))
        return ctx.menu()
