"""What an adapter asks the engine besides "handle this message".

The adapters (handlers/) translate events and render replies; everything that
reads or writes the database, or says something to a person, happens here:

* `welcome`: Viber's first screen, shown before anyone is stored.
* `read_text`: text from a client whose buttons send their payload as text
  (Viber) is a press only if that button was offered.
* `note_subscription`: Viber's subscribed / unsubscribed callbacks.
* `locale_of`, `notice`, `refuse_contact`, `command_menu`: what a person reads
  outside a dialog (a flood warning, "private chats only", the command menu).
* `replies_sent`, `take_unsent`: the replies kept with a claimed update until
  the adapter has sent them (`Engine.handle(keep_for=…)`).

A mixin of `Engine`, so that this block stays apart from the hot path.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum
from typing import Any

from bot.engine.context import Context
from bot.engine.dialog import DialogRegistry
from bot.engine.events import Incoming, Kind, Reply, replies_from_json
from bot.engine.globals import Global, parse_open
from bot.engine.runtime import Runtime
from bot.i18n import N_, pick_language, translator
from storage.db import Database
from storage.models import Person
from storage.repositories import DialogStates, People, ProcessedEvents, StoredState

log = logging.getLogger(__name__)

LANGUAGE_DIALOG = "language"

GREETING = N_(
    "Hello! I help with social services: benefits you may get, the status of your "
    "application, booking an office visit."
)
FOREIGN_CONTACT = N_(
    "This is someone else's contact. I can only take your own number: "
    "please press the button to share it."
)

#: The commands a messenger lists in its menu (Telegram's menu button); every one
#: of them also works typed (`bot.engine.globals.COMMANDS`).
COMMAND_MENU = (
    ("start", N_("Start: main menu")),
    ("menu", N_("Main menu")),
    ("language", N_("Change the language")),
    ("help", N_("Help")),
    ("cancel", N_("Cancel what I am doing")),
)


class Notice(Enum):
    """Something an adapter must tell a person outside any dialog."""

    #: a chat sends faster than it can be answered: what follows is merged
    FLOOD = N_(
        "You are writing faster than I can answer. Please wait for my reply. "
        "Messages sent in the meantime stay unanswered: after my reply, "
        "send again whatever matters."
    )
    #: someone wrote in a group: dialogs run in private chats only
    PRIVATE_CHAT_ONLY = N_(
        "I answer only in a private chat, so that what you tell me stays between us. "
        "Please write to me directly."
    )
    #: the same, naming the bot (`username=`) so that the person can find it
    PRIVATE_CHAT_ONLY_NAMED = N_(
        "I answer only in a private chat, so that what you tell me stays between us. "
        "Please write to me directly: @{username}"
    )


@dataclass(frozen=True, slots=True)
class Kept:
    """Replies committed with an update but never sent (the process stopped first)."""

    to: str  # the address the adapter gave as `keep_for`
    replies: list[Reply]


class PlatformCalls:
    """The adapters' calls into the engine other than `handle` (mixed into `Engine`)."""

    db: Database
    runtime: Runtime
    dialogs: DialogRegistry

    async def handle(self, event: Incoming, *, keep_for: str | None = None) -> list[Reply]:
        raise NotImplementedError  # `Engine.handle`

    def language_for(self, language_code: str | None) -> str:
        """A messenger's language hint as one of ours (the default for any other)."""
        return pick_language(language_code, self.runtime.settings.default_locale)

    # -- texts ---------------------------------------------------------------------
    def notice(self, notice: Notice, language_code: str | None, **values: Any) -> Reply:
        """`notice` in the language the person's app speaks (nothing is looked up)."""
        return Reply(text=translator(self.language_for(language_code))._(notice.value, **values))

    def command_menu(self, language: str) -> list[tuple[str, str]]:
        """(command, description) for a messenger's command menu, in `language`."""
        tr = translator(language)
        return [(name, tr._(text)) for name, text in COMMAND_MENU]

    async def locale_of(self, platform: str, user_id: str, language_code: str | None) -> str:
        """The language a person chose, or (before they chose) the one their app speaks."""
        async with self.db.transaction() as session:
            person = await People(session).find(platform, user_id)
            locale = person.locale if person is not None else None
        return locale or self.language_for(language_code)

    async def refuse_contact(self, event: Incoming) -> list[Reply]:
        """Someone else's contact was shared: it is never stored; the person hears why
        and is asked their question again (with its share button). [] for a redelivery."""
        resume = Incoming(
            platform=event.platform,
            user_id=event.user_id,
            kind=Kind.BUTTON,
            payload=Global.RESUME.value,
            language_code=event.language_code,
            event_id=event.event_id,
        )
        replies = await self.handle(resume)
        if not replies:  # a redelivered update, answered already
            return []
        tr = translator(await self.locale_of(event.platform, event.user_id, event.language_code))
        return [Reply(text=tr._(FOREIGN_CONTACT)), *replies]

    # -- Viber: before subscribing, and buttons that arrive as text --------------------
    async def welcome(self, platform: str, user_id: str, language_hint: str | None) -> list[Reply]:
        """The greeting and the language screen, as at first contact, storing nothing.

        Before a person subscribes nothing about them is kept (opening a chat is not
        consent to anything), so the language dialog's first step is shown on a
        person that is never saved.
        """
        dialog = self.dialogs.get(LANGUAGE_DIALOG)
        assert dialog is not None, "the language dialog is part of the core"
        person = Person(platform=platform, platform_user_id=user_id, locale=None)
        event = Incoming(platform, user_id, Kind.COMMAND, text="/start")
        async with self.db.sessions() as unused_session:  # the screen reads nothing
            ctx = Context(
                event=event,
                person=person,
                state=StoredState(dialog=LANGUAGE_DIALOG, step=dialog.first),
                runtime=self.runtime,
                dialogs=self.dialogs,
                db=unused_session,
                is_staff=False,
            )
            ctx.tr = translator(self.language_for(language_hint))
            ctx.say(ctx._(GREETING))
            step = dialog.get(dialog.first)
            assert step is not None
            await step.show(ctx)
        return ctx.replies

    async def read_text(
        self, event: Incoming, *, api_version: int | None = None
    ) -> list[Incoming]:
        """The event(s) a text stands for on a client whose buttons send their payload as
        text: a press of a button offered, or of the welcome's; else the text typed.

        Typed text that spells a payload is not a press: only what was offered counts.
        `api_version` (the client's, from the callback) is kept for messages the bot
        starts later.
        """
        text = event.text
        offered, stored, has_locale = await self._offered(
            event.platform, event.user_id, api_version
        )
        if text in offered or parse_open(text) is not None:
            # "o:" buttons come from messages the bot started (reminders, offers); the
            # engine opens only the steps a dialog allows, so typing one gains nothing.
            return [replace(event, kind=Kind.BUTTON, payload=text, text="")]
        welcome_buttons = await self._welcome_buttons(event.platform, event.user_id)
        if text in welcome_buttons:
            # A language button from the welcome (sent before anything was stored): open
            # the language screen first, so the press lands where it was made.
            command = "/language" if stored and has_locale else "/start"
            opening = replace(
                event, kind=Kind.COMMAND, text=command, event_id=f"{event.event_id}:welcome"
            )
            pressed = replace(event, kind=Kind.BUTTON, payload=welcome_buttons[text], text="")
            return [opening, pressed]
        kind = Kind.COMMAND if text.startswith("/") else Kind.TEXT
        return [replace(event, kind=kind)]

    async def _offered(
        self, platform: str, user_id: str, api_version: int | None
    ) -> tuple[dict[str, str], bool, bool]:
        """(buttons on the person's screen, whether they are stored, whether they chose
        a language)."""
        async with self.db.transaction() as session:
            person = await People(session).find(platform, user_id)
            if person is None:
                return {}, False, False
            if api_version is not None and person.api_version != api_version:
                person.api_version = api_version
            state = await DialogStates(session).load(person.id)
            return (state.offered if state else {}), True, person.locale is not None

    async def _welcome_buttons(self, platform: str, user_id: str) -> dict[str, str]:
        """What the welcome's buttons send → their payload: the payload itself, or the
        label on clients without silent buttons (handlers/viber/render.py)."""
        replies = await self.welcome(platform, user_id, None)
        buttons = [button for reply in replies for row in reply.buttons for button in row]
        sent = {button.label: button.payload for button in buttons}
        return sent | {button.payload: button.payload for button in buttons}

    async def note_subscription(
        self,
        platform: str,
        user_id: str,
        *,
        subscribed: bool,
        event_id: str | None = None,
        api_version: int | None = None,
    ) -> None:
        """A person subscribed or unsubscribed (Viber); each callback counts once.

        Someone we never talked to is not stored on subscribing: the record starts
        with their first message, where the language and privacy questions are. An
        unsubscribed person is never written to until they write again.
        """
        async with self.db.transaction() as session:
            if event_id is not None and not await ProcessedEvents(session).claim(
                platform, event_id
            ):
                return
            people = People(session)
            if not subscribed:
                await people.mark_unsubscribed(platform, user_id)
                return
            person = await people.find(platform, user_id)
            if person is not None:
                person.subscribed = True
                person.reachable = True
                person.api_version = api_version or person.api_version

    # -- replies kept with their update until sent ---------------------------------------
    async def replies_sent(self, platform: str, event_ids: Sequence[str]) -> None:
        """Forget the kept replies of these updates: they went out."""
        if not event_ids:
            return
        async with self.db.transaction() as session:
            await ProcessedEvents(session).replies_sent(platform, event_ids)

    async def take_unsent(self, platform: str, claimed_before: datetime) -> list[Kept]:
        """Replies committed before `claimed_before` and never marked sent, oldest first;
        taken, so that no other process sends them too."""
        async with self.db.transaction() as session:
            stored = await ProcessedEvents(session).take_unsent(platform, claimed_before)
        kept: list[Kept] = []
        for _, data in stored:
            try:
                value = json.loads(data)
                kept.append(Kept(str(value["to"]), replies_from_json(value["replies"])))
            except (ValueError, KeyError, TypeError):
                log.error("a stored reply could not be read; skipped")
        return kept
