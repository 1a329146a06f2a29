"""Telegram updates read from JSON (handlers/telegram/updates.py): what aiogram would read."""

from __future__ import annotations

from typing import Any

import pytest
from aiogram.types import Update

from handlers.telegram.updates import BadUpdate, parse_update
from tests.doubles.telegram_api import STICKER

OLENA = {"id": 7, "is_bot": False, "first_name": "Olena", "language_code": "uk"}
PRIVATE = {"id": 7, "type": "private", "first_name": "Olena"}
GROUP = {"id": -100, "type": "supergroup", "title": "Сусіди"}
BOT = {"id": 4242, "is_bot": True, "first_name": "Poruch", "username": "poruch_test_bot"}


def message(**content: Any) -> dict[str, Any]:
    return {"message_id": 3, "date": 1_700_000_000, "chat": PRIVATE, "from": OLENA, **content}


BODIES = {
    "text": {"update_id": 1, "message": message(text="/start")},
    "contact": {
        "update_id": 2,
        "message": message(
            contact={"phone_number": "+380501234567", "first_name": "O", "user_id": 9}
        ),
    },
    "contact without user": {
        "update_id": 3,
        "message": message(contact={"phone_number": "+380", "first_name": "O"}),
    },
    "location": {"update_id": 4, "message": message(location={"latitude": 50, "longitude": 30.5})},
    "sticker": {"update_id": 5, "message": message(sticker=STICKER)},
    "group reply": {
        "update_id": 6,
        "message": message(
            chat=GROUP, text="answer", reply_to_message=message(chat=GROUP, message_id=2)
        ),
    },
    "channel-like, no sender": {
        "update_id": 7,
        "message": {"message_id": 1, "date": 1, "chat": GROUP, "text": "x"},
    },
    "press": {
        "update_id": 8,
        "callback_query": {
            "id": "44",
            "from": {"id": 7, "is_bot": False, "first_name": "Olena"},
            "chat_instance": "c",
            "data": "g:menu",
            "message": message(**{"from": BOT}),
        },
    },
    "press on an inaccessible message": {
        "update_id": 9,
        "callback_query": {
            "id": "45",
            "from": OLENA,
            "chat_instance": "c",
            "data": "yes",
            "message": {"message_id": 1, "date": 0, "chat": PRIVATE},
        },
    },
    "inline-mode press": {
        "update_id": 10,
        "callback_query": {"id": "46", "from": OLENA, "chat_instance": "c", "data": "x"},
    },
    "another kind": {"update_id": 11, "edited_message": message(text="x", edit_date=2)},
}


@pytest.mark.parametrize("name", list(BODIES))
def test_read_as_aiogram_reads_it(name: str) -> None:
    body = BODIES[name]
    ours = parse_update(body)
    theirs = Update.model_validate(body)
    assert ours.update_id == theirs.update_id
    if theirs.message is None:
        assert ours.message is None
    else:
        m, t = ours.message, theirs.message
        assert m is not None
        assert (m.message_id, m.chat.id, m.chat.type, m.text) == (
            t.message_id,
            t.chat.id,
            t.chat.type,
            t.text,
        )
        assert m.date == int(t.date.timestamp())
        sender = t.from_user
        assert (m.sender and (m.sender.id, m.sender.is_bot, m.sender.language_code)) == (
            sender and (sender.id, sender.is_bot, sender.language_code)
        )
        assert (m.contact and (m.contact.phone_number, m.contact.user_id)) == (
            t.contact and (t.contact.phone_number, t.contact.user_id)
        )
        assert (m.location and (m.location.latitude, m.location.longitude)) == (
            t.location and (t.location.latitude, t.location.longitude)
        )
        assert m.reply_to == (t.reply_to_message and t.reply_to_message.message_id)
    if theirs.callback_query is None:
        assert ours.callback_query is None
    else:
        q, tq = ours.callback_query, theirs.callback_query
        assert q is not None
        assert (q.id, q.data, q.sender.id, q.sender.language_code) == (
            tq.id,
            tq.data,
            tq.from_user.id,
            tq.from_user.language_code,
        )
        chat = tq.message.chat if tq.message is not None else None
        assert (q.chat and (q.chat.id, q.chat.type)) == (chat and (chat.id, chat.type))


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        {},
        {"update_id": "1"},
        {"update_id": True},
        {"update_id": 1, "message": "hi"},
        {"update_id": 1, "message": {"message_id": 1, "date": 1, "chat": {"id": 1}}},
        {"update_id": 1, "message": message(text=5)},
        {"update_id": 1, "message": message(**{"from": {"id": 7}})},
        {"update_id": 1, "message": message(contact={"first_name": "O"})},
        {"update_id": 1, "message": message(location={"latitude": "50", "longitude": 30})},
        {"update_id": 1, "message": message(reply_to_message={"text": "x"})},
        {"update_id": 1, "callback_query": {"id": 1, "from": OLENA, "chat_instance": "c"}},
        {"update_id": 1, "callback_query": {"id": "1", "chat_instance": "c"}},
    ],
)
def test_what_is_not_an_update_is_refused(body: Any) -> None:
    with pytest.raises(BadUpdate):
        parse_update(body)
