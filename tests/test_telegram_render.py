"""Reply → Telegram messages: escaping, keyboards, splitting (no network)."""

from __future__ import annotations

import json

import pytest
from aiogram.types import InlineKeyboardMarkup, ReplyKeyboardMarkup, ReplyKeyboardRemove
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.engine import Button, Link, Reply, Request
from handlers.telegram.render import (
    TEXT_LIMIT,
    callback_data,
    plan,
    render_reply,
    shows_reply_keyboard,
    split_text,
    utf16_len,
)
from tests.doubles.telegram_api import ApiError, parse_html


def test_text_and_title_are_escaped_and_parse_as_html() -> None:
    typed = "<b>bold?</b> & <script>alert(1)</script> a > b"
    [message] = render_reply(Reply(text=typed, title="Tom & <Jerry>"))
    assert "<script>" not in message.text
    assert message.text.startswith("<b>Tom &amp; &lt;Jerry&gt;</b>\n\n")
    assert parse_html(message.text) == f"Tom & <Jerry>\n\n{typed}"


def test_long_text_is_split_on_paragraph_boundaries() -> None:
    paragraphs = [f"Paragraph {i}: " + "слово " * 150 for i in range(12)]
    text = "\n\n".join(p.strip() for p in paragraphs)
    assert len(text) > 10_000
    pieces = split_text(text)
    assert len(pieces) >= 3
    assert all(utf16_len(piece) <= TEXT_LIMIT for piece in pieces)
    assert "\n\n".join(pieces) == text  # nothing lost, cuts only between paragraphs
    assert all(piece.startswith("Paragraph") for piece in pieces)


def test_a_paragraph_longer_than_a_message_is_cut_between_lines_then_words() -> None:
    one_line = " ".join(["довгий"] * 1500)  # 10,499 characters, no line breaks
    pieces = split_text(one_line)
    assert all(utf16_len(p) <= TEXT_LIMIT for p in pieces)
    assert " ".join(pieces) == one_line
    no_spaces = "x" * 9000
    assert "".join(split_text(no_spaces)) == no_spaces


def test_limit_counts_escaping_and_utf16() -> None:
    emoji = "🙂" * 3000  # 6000 UTF-16 units
    assert all(utf16_len(p) <= TEXT_LIMIT for p in split_text(emoji))
    ampersands = "&" * 1000 + "\n\n" + "&" * 1000  # 5 characters each once escaped
    for piece in split_text(ampersands):
        assert utf16_len(piece.replace("&", "&amp;")) <= TEXT_LIMIT


def test_title_stays_in_the_first_message_of_a_split_reply() -> None:
    text = "\n\n".join(["абзац " * 300] * 4)
    messages = render_reply(Reply(text=text, title="Заголовок", buttons=((Button("OK", "ok"),),)))
    assert len(messages) > 1
    assert messages[0].text.startswith("<b>Заголовок</b>")
    assert all(len(parse_html(m.text)) <= TEXT_LIMIT for m in messages)
    assert [m.markup is not None for m in messages] == [False] * (len(messages) - 1) + [True]


def test_buttons_and_links_become_an_inline_keyboard() -> None:
    reply = Reply(
        text="Choose",
        buttons=((Button("Yes", "yes"), Button("No", "no")), (Button("☰ Menu", "g:menu"),)),
        links=(Link("Diia", "https://diia.gov.ua"),),
    )
    [message] = render_reply(reply)
    assert isinstance(message.markup, InlineKeyboardMarkup)
    rows = message.markup.inline_keyboard
    assert [[b.callback_data for b in row] for row in rows[:2]] == [["yes", "no"], ["g:menu"]]
    assert rows[2][0].url == "https://diia.gov.ua"


def test_callback_data_over_64_bytes_is_refused() -> None:
    assert callback_data("a" * 64) == "a" * 64
    with pytest.raises(ValueError, match="64"):
        callback_data("я" * 33)  # 66 bytes
    with pytest.raises(ValueError):
        render_reply(Reply(text="x", buttons=((Button("long", "b" * 65),),)))


def test_phone_request_is_a_reply_keyboard_with_the_choices_as_typed_labels() -> None:
    reply = Reply(
        text="Share your phone",
        buttons=((Button("☰ Menu", "g:menu"),),),
        request=Request.PHONE,
        request_label="📱 Share",
        links=(Link("Help", "https://example.org/help"),),
    )
    [message] = render_reply(reply)
    assert isinstance(message.markup, ReplyKeyboardMarkup)
    share, menu = message.markup.keyboard
    assert share[0].request_contact is True and share[0].text == "📱 Share"
    assert menu[0].text == "☰ Menu" and menu[0].request_contact is None
    assert "https://example.org/help" in message.text
    [location] = render_reply(Reply(text="Where?", request=Request.LOCATION))
    assert isinstance(location.markup, ReplyKeyboardMarkup)
    assert location.markup.keyboard[0][0].request_location is True


def test_reply_keyboard_is_removed_by_the_next_answer() -> None:
    plain = Reply(text="Thanks")
    question = Reply(text="Next?", buttons=((Button("Yes", "yes"),),))
    batch = plan([plain, question], keyboard_shown=True)
    assert isinstance(batch.messages[0].markup, ReplyKeyboardRemove)
    assert isinstance(batch.messages[1].markup, InlineKeyboardMarkup)
    assert batch.restore_inline is None
    assert shows_reply_keyboard(batch.messages) is False
    # Only buttons to send: the first message removes, then gets its buttons back by an edit.
    batch = plan([question], keyboard_shown=True)
    assert isinstance(batch.messages[0].markup, ReplyKeyboardRemove)
    assert batch.restore_inline is not None
    # Nothing on screen, nothing asked: no removal at all.
    assert plan([plain], keyboard_shown=False).messages[0].markup is None
    # A reply may ask for the removal itself (e.g. after a restart the bot forgot).
    asked = plan([Reply(text="Done", remove_keyboard=True)], keyboard_shown=False)
    assert isinstance(asked.messages[0].markup, ReplyKeyboardRemove)


def test_double_refuses_what_telegram_refuses() -> None:
    for bad in ("<b>open", "a < b", "<script>x</script>", "Tom & Jerry", "</b>", "<a>x</a>"):
        with pytest.raises(ApiError, match="can't parse entities"):
            parse_html(bad)
    assert parse_html('<a href="https://x.org">x</a> &lt;&#38;&#x26;') == "x <&&"


def test_keyboards_are_the_json_aiogram_would_send_for_its_models() -> None:
    """The lean path sends `reply_markup` as rendered; aiogram would have sent its models."""
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession

    replies = [
        Reply(
            text="Choose",
            buttons=((Button("Yes", "yes"), Button("No", "no")),),
            links=(Link("Diia", "https://diia.gov.ua"),),
        ),
        Reply(text="Phone", buttons=((Button("☰ Menu", "g:menu"),),), request=Request.PHONE),
        Reply(text="Where?", request=Request.LOCATION, request_label="📍"),
    ]
    messages = (
        plan(replies, keyboard_shown=True).messages
        + plan([Reply(text="Done")], keyboard_shown=True).messages
    )
    markups = [m.reply_markup for m in messages]
    assert [sorted(m or {}) for m in markups] == [
        ["inline_keyboard"],
        ["keyboard", "one_time_keyboard", "resize_keyboard"],
        ["keyboard", "one_time_keyboard", "resize_keyboard"],
        ["remove_keyboard"],
    ]
    session = AiohttpSession()
    bot = Bot("4242:TEST-token", session=session)
    for message in messages:
        model = message.markup
        assert model is not None
        sent_by_aiogram = json.loads(session.prepare_value(model, bot=bot, files={}))
        assert message.reply_markup == sent_by_aiogram


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(alphabet="a я\n\t&<>🙂", max_size=1000),
    title=st.integers(min_value=0, max_value=300),
)
def test_a_short_text_is_cut_as_the_splitter_would_cut_it(text: str, title: int) -> None:
    """`split_text` skips measuring a text that fits however it is escaped: same pieces."""
    from handlers.telegram import render
    from handlers.text_split import split_text as splitter

    limit = 5000 if title % 2 else TEXT_LIMIT
    first_limit = limit - title if title else None
    assert split_text(text, limit, first_limit) == splitter(
        text, limit, size=render._size, first_limit=first_limit
    )
