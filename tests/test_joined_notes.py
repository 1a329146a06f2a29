"""A few words about what just happened ("Thank you.", "Not found …") are said at the top
of the next message, not as a message of their own: one notification, one download,
and Telegram's one message a second per chat kept."""

from __future__ import annotations

from collections.abc import Callable

from bot.engine import Button, Reply
from bot.engine.events import (
    JOINED_MAX_CHARS,
    joined_notes,
    replies_from_json,
    replies_to_json,
)
from handlers.conversation import Conversation
from handlers.telegram.render import render_reply
from tests.conftest import onboard
from tests.doubles.telegram_api import parse_html

MENU = Reply(text="What do you need?", title="Main menu", buttons=((Button("Help", "h"),),))


def test_a_note_goes_above_the_title_of_the_message_after_it() -> None:
    thanks = Reply(text="Thank you.")
    [joined] = joined_notes([thanks, MENU], [thanks])
    assert (joined.lead, joined.title, joined.text) == ("Thank you.", "Main menu", MENU.text)
    assert joined.buttons == MENU.buttons
    assert joined.full_text() == "Thank you.\n\nMain menu\n\nWhat do you need?"


def test_notes_in_a_row_go_together_and_a_last_note_stays_a_message() -> None:
    first, second, last = Reply(text="One."), Reply(text="Two."), Reply(text="Bye.")
    replies = joined_notes([first, second, MENU, last], [first, second, last])
    assert [reply.full_text() for reply in replies] == [
        "One.\n\nTwo.\n\nMain menu\n\nWhat do you need?",
        "Bye.",
    ]


def test_a_plain_message_said_on_purpose_is_not_a_note() -> None:
    """The staff's preview: "People reading English will receive exactly this:" must
    not end up inside the message it introduces."""
    intro, preview = Reply(text="They will receive exactly this:"), Reply(text="📢 News")
    assert joined_notes([intro, preview], []) == [intro, preview]


def test_a_note_too_long_to_join_stays_on_its_own() -> None:
    long = Reply(text="x" * JOINED_MAX_CHARS)
    assert joined_notes([long, MENU], [long]) == [long, MENU]


def test_the_lead_survives_being_kept_for_sending_later() -> None:
    thanks = Reply(text="Thank you.")
    replies = joined_notes([thanks, MENU], [thanks])
    assert replies_from_json(replies_to_json(replies)) == replies


def test_telegram_shows_the_lead_escaped_above_the_bold_title() -> None:
    [message] = render_reply(Reply(text="Body", title="Menu", lead="Done <3 & more"))
    assert message.text == "Done &lt;3 &amp; more\n\n<b>Menu</b>\n\nBody"
    assert parse_html(message.text) == "Done <3 & more\n\nMenu\n\nBody"


async def test_agreeing_to_the_notice_is_answered_with_one_message(
    chat_factory: Callable[..., Conversation],
) -> None:
    chat = chat_factory()
    await onboard(chat)  # the last step: "I agree"
    [answer] = chat.last
    assert answer.lead == "Thank you."
    assert answer.title == "Main menu"


async def test_a_wrong_birth_date_is_told_in_the_message_that_asks_again(
    chat_factory: Callable[..., Conversation],
) -> None:
    chat = chat_factory()
    await onboard(chat)
    await chat.presses("application status")
    await chat.says("AB-123456")
    await chat.says("01.01.1990")
    [answer] = chat.last
    assert answer.lead.startswith("Not found, or the details do not match.")
    chat.expect("application number", buttons=["Back"])
