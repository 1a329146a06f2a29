"""What a dialog step sees and can do while handling one event."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Container, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.engine.events import Button, Incoming, Link, Reply, Request
from bot.engine.runtime import Runtime
from bot.i18n import Translator, translator
from storage.models import Person
from storage.repositories import StoredState

#: dialogs whose starts `python -m bot stats` counts (bot/services/stats/counting.py)
FUNNEL_DIALOGS = frozenset({"eligibility", "status", "booking", "cases"})

MAX_PAYLOAD_BYTES = 40  # well inside Telegram's 64-byte callback data and Viber's ActionBody


@dataclass(frozen=True, slots=True)
class Goto:
    step: str


@dataclass(frozen=True, slots=True)
class Start:
    dialog: str
    data: dict[str, Any]
    step: str | None = None


@dataclass(frozen=True, slots=True)
class Back:
    pass


Transition = Goto | Start | Back

ButtonRows = Sequence[Sequence[Button]] | Sequence[Button]


def as_rows(buttons: ButtonRows) -> tuple[tuple[Button, ...], ...]:
    rows: list[tuple[Button, ...]] = []
    for item in buttons:
        if isinstance(item, Button):
            rows.append((item,))
        else:
            rows.append(tuple(item))
    return tuple(row for row in rows if row)


class Context:
    """Handed to `Step.show` and `Step.handle`.

    `db` is the transaction of this event; give it to services, do not query it
    from a dialog. Everything said goes through `say`/`ask`, in the person's
    language via `_` and `n_`.
    """

    def __init__(
        self,
        *,
        event: Incoming,
        person: Person,
        state: StoredState,
        runtime: Runtime,
        dialogs: Container[str],
        db: AsyncSession,
        is_staff: bool,
    ) -> None:
        self.event = event
        self.person = person
        self.state = state
        self.runtime = runtime
        self._dialogs = dialogs
        self.db = db
        self.is_staff = is_staff
        self.replies: list[Reply] = []
        #: replies said with `note`: joined into the message after them
        self.notes: list[Reply] = []
        self.transition: Transition | None = None
        self.error: str | None = None
        self.erased = False
        #: someone who has not accepted the privacy notice reads a public dialog: the
        #: person is not stored, and only `public` dialogs' buttons make sense
        self.viewing_only = False
        self._after_commit: list[Callable[[], Awaitable[None]]] = []
        #: (at, metric, key) counted by this step, written by the engine with the state
        self.counted: list[tuple[datetime, str, str]] = []
        self.tr: Translator = translator(person.locale or runtime.settings.default_locale)

    # -- language ---------------------------------------------------------
    @property
    def language(self) -> str:
        return self.tr.language

    def use_language(self, language: str) -> None:
        self.person.locale = language
        self.tr = translator(language)

    def _(self, message: str, **values: Any) -> str:
        return self.tr._(message, **values)

    def n_(self, singular: str, plural: str, n: int, **values: Any) -> str:
        return self.tr.n_(singular, plural, n, **values)

    # -- state ------------------------------------------------------------
    @property
    def data(self) -> dict[str, Any]:
        return self.state.data

    @property
    def step(self) -> str:
        return self.state.step

    @property
    def dialog(self) -> str:
        return self.state.dialog

    def now(self) -> datetime:
        return self.runtime.now()

    def has_dialog(self, name: str) -> bool:
        """Whether this bot runs the dialog `name` (a feature may be left out)."""
        return name in self._dialogs

    # -- speaking ---------------------------------------------------------
    def button(self, label: str, payload: str) -> Button:
        if len(payload.encode()) > MAX_PAYLOAD_BYTES:
            raise ValueError(f"button payload too long: {len(payload.encode())} bytes")
        return Button(label=label, payload=payload)

    def say(
        self,
        text: str,
        buttons: ButtonRows = (),
        *,
        title: str | None = None,
        request: Request | None = None,
        request_label: str = "",
        links: Iterable[Link] = (),
        remove_keyboard: bool = False,
    ) -> None:
        self.replies.append(
            Reply(
                text=text,
                title=title,
                buttons=as_rows(buttons),
                request=request,
                request_label=request_label,
                links=tuple(links),
                remove_keyboard=remove_keyboard,
            )
        )

    ask = say

    def note(self, text: str) -> None:
        """A few words about what just happened ("Thank you.", "Not found."), said at the
        top of the next message rather than as a message of their own."""
        reply = Reply(text=text)
        self.replies.append(reply)
        self.notes.append(reply)

    # -- moving -----------------------------------------------------------
    def goto(self, step: str) -> None:
        self.transition = Goto(step)

    def start(
        self, dialog: str, data: dict[str, Any] | None = None, step: str | None = None
    ) -> None:
        if dialog in FUNNEL_DIALOGS:
            self.count("started", dialog)
        self.transition = Start(dialog, dict(data or {}), step)

    def count(self, metric: str, key: str) -> None:
        """Count a moment for `python -m bot stats`: what happened, never who.

        Written by the engine in one INSERT with the event's other statements (an ORM
        object would cost a flush of its own), and undone with the event if it fails."""
        self.counted.append((self.now(), metric, key[:48]))

    def back(self) -> None:
        self.transition = Back()

    def menu(self) -> None:
        self.start("menu")

    def invalid(self, message: str) -> None:
        """The answer was not understood: say why, then ask the same question again."""
        self.error = message

    def forget_person(self) -> None:
        """The person's data was erased in this transaction: store nothing more about them."""
        self.erased = True

    def after_commit(self, action: Callable[[], Awaitable[None]]) -> None:
        """Run once the event's transaction is committed (wake a sender, schedule a job)."""
        self._after_commit.append(action)

    @property
    def after_commit_actions(self) -> list[Callable[[], Awaitable[None]]]:
        return self._after_commit
