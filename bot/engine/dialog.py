"""How a dialog is written: named steps in order, each one asks and then handles the answer.

    language = Dialog("language")

    @language.step("choose")
    class Choose(Step):
        async def show(self, ctx: Context) -> None:
            ctx.ask(ctx._("Choose your language"), [[ctx.button("Українська", "uk")]])

        async def handle(self, ctx: Context, event: Incoming) -> None:
            ...

The engine takes care of the rest uniformly: persisting state, back, stale
buttons, re-prompts after invalid input, global commands and errors.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, TypeVar

from bot.engine.events import Incoming, Kind

if TYPE_CHECKING:
    from bot.engine.context import Context


class Step:
    """One screen of a dialog."""

    #: whether "Back" and "Menu" are offered under this step's question
    back: bool = True
    #: where Back leads instead of the previous screen (after a finished action, such as
    #: a booking made, going back to its confirmation would be meaningless)
    back_to: str | None = None

    async def show(self, ctx: Context) -> None:
        raise NotImplementedError

    async def handle(self, ctx: Context, event: Incoming) -> None:
        """Default: only buttons are understood; anything typed is re-prompted."""
        if event.kind is Kind.BUTTON:
            await self.on_button(ctx, event.payload)
        else:
            ctx.invalid(ctx._("Please choose one of the buttons."))

    async def on_button(self, ctx: Context, payload: str) -> None:
        ctx.invalid(ctx._("Please choose one of the buttons."))


S = TypeVar("S", bound=type[Step])


class Dialog:
    """A named conversation: an ordered set of steps. The first step is the entry."""

    def __init__(
        self,
        name: str,
        *,
        staff_only: bool = False,
        entry_steps: Iterable[str] = (),
        public: bool = False,
    ) -> None:
        self.name = name
        self.staff_only = staff_only
        #: its first screen is readable without accepting the privacy notice, storing
        #: nothing (`Context.viewing_only` is then set): contacts, About
        self.public = public
        #: steps that a button in a bot-initiated message may open (see globals.open_payload)
        self.entry_steps = frozenset(entry_steps)
        self.steps: dict[str, Step] = {}

    @property
    def first(self) -> str:
        return next(iter(self.steps))

    def step(self, name: str) -> Callable[[S], S]:
        def register(cls: S) -> S:
            if name in self.steps:
                raise ValueError(f"{self.name}: step {name!r} defined twice")
            self.steps[name] = cls()
            return cls

        return register

    def add(self, name: str, step: Step) -> Step:
        if name in self.steps:
            raise ValueError(f"{self.name}: step {name!r} defined twice")
        self.steps[name] = step
        return step

    def get(self, name: str) -> Step | None:
        return self.steps.get(name)


class DialogRegistry:
    def __init__(self) -> None:
        self._dialogs: dict[str, Dialog] = {}

    def register(self, *dialogs: Dialog) -> None:
        for dialog in dialogs:
            if not dialog.steps:
                raise ValueError(f"dialog {dialog.name!r} has no steps")
            self._dialogs[dialog.name] = dialog

    def get(self, name: str) -> Dialog | None:
        return self._dialogs.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._dialogs

    def names(self) -> list[str]:
        return list(self._dialogs)
