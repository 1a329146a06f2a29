"""Viber rendering (keyboards, long texts), the signature check, the API double's strictness."""

from __future__ import annotations

import html
from typing import Any

import pytest

from bot.engine import Button, Link, Reply, Request
from handlers.viber.adapter import signature, signature_ok
from handlers.viber.client import ViberClient
from handlers.viber.render import (
    MAX_BUTTONS,
    TEXT_LIMIT,
    keyboard,
    messages,
    sender,
    split_text,
    welcome,
)
from tests.conftest import Clock
from tests.doubles.viber_api import ViberDouble, keyboard_problem, message_problem
from tests.viber_support import TOKEN, onboard, viber_world

NAV = (Button("◀ Back", "g:back"), Button("☰ Menu", "g:menu"))


def labels(board: dict[str, Any] | None) -> list[str]:
    assert board is not None
    return [html.unescape(str(b["Text"])) for b in board["Buttons"]]


# -- signature -----------------------------------------------------------------------------
def test_signature_matches_the_published_test_vector() -> None:
    # From viber-bot-python's tests (see shared/domain/messaging-platforms.md §5.1).
    token = b"44dafb7e0f40021e-61a47a1e6778d187-f2c5a676a07050b3"
    body = b'{"event":"webhook","timestamp":4977069964384421269,"message_token":1478683725125}'
    expected = "d21b343448c8aee33b8e93768ef6ceb64a6ba6163099973a2b8bd028fea510ef"
    assert signature(token, body) == expected
    assert signature_ok(token, body, expected)
    assert signature_ok(token, body, expected.upper())
    assert not signature_ok(token, body, None)
    assert not signature_ok(token, body, "")
    assert not signature_ok(token, body + b" ", expected)
    assert not signature_ok(token, body, "ї" * 64)  # non-ASCII must not raise


# -- text ----------------------------------------------------------------------------------
def test_long_text_is_split_on_paragraphs() -> None:
    paragraphs = [f"{i:03d} " + "слово " * 300 for i in range(40)]  # ~1800 characters each
    text = "\n\n".join(p.strip() for p in paragraphs)
    pieces = split_text(text)
    assert len(pieces) > 1
    assert all(len(piece) <= TEXT_LIMIT for piece in pieces)
    # Nothing lost, nothing cut inside a paragraph.
    assert "\n\n".join(pieces) == text
    assert all(piece.split("\n\n")[0][:3].isdigit() for piece in pieces)


def test_a_paragraph_longer_than_a_message_is_cut_at_lines_then_words() -> None:
    lines = "\n".join(
        ("рядок " * 50).strip() for _ in range(60)
    )  # one paragraph, ~18 000 characters
    pieces = split_text(lines)
    assert all(len(p) <= TEXT_LIMIT for p in pieces)
    assert "\n".join(pieces) == lines
    word = "x" * (TEXT_LIMIT * 2 + 5)
    assert [len(p) for p in split_text(word)] == [TEXT_LIMIT, TEXT_LIMIT, 5]


def test_messages_put_the_keyboard_on_the_last_piece_only() -> None:
    long = "\n\n".join("абзац " * 250 for _ in range(10))
    bodies = messages([Reply(text=long, buttons=((Button("OK", "ok"),),))], "Соцпослуги")
    assert len(bodies) >= 2
    assert all("keyboard" not in b for b in bodies[:-1])
    assert labels(bodies[-1]["keyboard"]) == ["OK"]
    assert all(b["type"] == "text" and message_problem(b) is None for b in bodies)


def test_title_and_links_are_plain_text() -> None:
    reply = Reply(
        text="Body *not bold*", title="Title", links=(Link("Diia", "https://diia.gov.ua"),)
    )
    (body,) = messages([reply], "Bot")
    assert body["text"] == "Title\n\nBody *not bold*\n\n🔗 Diia: https://diia.gov.ua"


# -- keyboards -----------------------------------------------------------------------------
def test_rows_fill_the_six_columns() -> None:
    reply = Reply(
        text="Q",
        buttons=(
            (Button("A", "a"),),
            (Button("B", "b"), Button("C", "c")),
            (Button("D", "d"), Button("E", "e"), Button("F", "f")),
            tuple(Button(str(i), f"n{i}") for i in range(5)),  # too many for one row
        ),
    )
    board = keyboard([reply], api_version=10)
    assert board is not None and board["Type"] == "keyboard"
    columns = [b["Columns"] for b in board["Buttons"]]
    assert columns == [6, 3, 3, 2, 2, 2, 2, 2, 2, 3, 3]
    assert {b["ActionType"] for b in board["Buttons"]} == {"reply"}
    assert [b["ActionBody"] for b in board["Buttons"]][:3] == ["a", "b", "c"]
    assert len({b["TextSize"] for b in board["Buttons"]}) == 1
    assert len({b["BgColor"] for b in board["Buttons"]}) == 1  # no navigation here
    assert keyboard_problem(board, 4) is None


def test_at_most_24_buttons_and_navigation_is_kept() -> None:
    answers = tuple((Button(f"Option {i}", f"o:{i}"),) for i in range(40))
    reply = Reply(
        text="Choose", buttons=(*answers, NAV), request=Request.LOCATION, request_label="📍"
    )
    board = keyboard([reply], api_version=10)
    assert board is not None
    assert len(board["Buttons"]) == MAX_BUTTONS
    assert board["Buttons"][0]["ActionType"] == "location-picker"
    assert labels(board)[-2:] == ["◀ Back", "☰ Menu"]
    assert keyboard_problem(board, 4) is None
    assert keyboard_problem(board, 3) is not None  # Silent and InputFieldState need level 4


def test_request_buttons_raise_the_api_version() -> None:
    reply = Reply(text="Phone?", request=Request.PHONE, request_label="📞 Share my phone")
    (body,) = messages([reply], "Bot", api_version=3)
    assert body["min_api_version"] == 3
    (button,) = body["keyboard"]["Buttons"]
    assert button["ActionType"] == "share-phone" and button["ActionBody"]
    (plain,) = messages([Reply(text="Hi")], "Bot", api_version=10)
    assert plain["min_api_version"] == 1


def test_labels_are_escaped_and_nothing_is_shown_when_removed() -> None:
    board = keyboard([Reply(text="Q", buttons=((Button("<b>1 & 2</b>", "x"),),))])
    assert board is not None and board["Buttons"][0]["Text"] == "&lt;b&gt;1 &amp; 2&lt;/b&gt;"
    (body,) = messages(
        [Reply(text="Bye", buttons=((Button("A", "a"),),), remove_keyboard=True)], "Bot"
    )
    assert "keyboard" not in body


def test_one_keyboard_for_every_reply_of_a_batch() -> None:
    first = Reply(text="Help", buttons=((Button("Continue", "g:resume"),),))
    second = Reply(text="Main menu", buttons=((Button("Contacts", "m:contacts"),),))
    bodies = messages([first, second], "Bot")
    assert len(bodies) == 2 and "keyboard" not in bodies[0]
    assert labels(bodies[1]["keyboard"]) == ["Continue", "Contacts"]


def test_sender_name_and_welcome() -> None:
    assert (
        sender("Соцпослуги — дуже довга назва бота тут")["name"]
        == "Соцпослуги — дуже довга назва "[:28]
    )
    assert len(sender("x" * 40)["name"]) == 28
    body = welcome(
        [Reply(text="Hi"), Reply(text="Language?", buttons=((Button("UA", "lang:uk"),),))], "Bot"
    )
    assert body["text"] == "Hi\n\nLanguage?" and "receiver" not in body
    assert labels(body["keyboard"]) == ["UA"]


# -- the double refuses what Viber refuses ----------------------------------------------------
def test_double_refuses_what_viber_refuses() -> None:
    good = {"sender": {"name": "Bot"}, "type": "text", "text": "Hi"}
    assert message_problem(good) is None
    assert message_problem({**good, "sender": {"name": "x" * 29}})
    assert message_problem({**good, "text": "x" * (TEXT_LIMIT + 1)})
    assert message_problem({**good, "text": ""})
    button = {"Columns": 6, "Rows": 1, "ActionType": "reply", "ActionBody": "a", "Text": "A"}
    assert keyboard_problem({"Type": "keyboard", "Buttons": [button] * 25}, 1)
    assert keyboard_problem({"Type": "keyboard", "Buttons": [{**button, "Columns": 7}]}, 1)
    assert keyboard_problem({"Type": "keyboard", "Buttons": [{**button, "ActionBody": ""}]}, 1)
    assert keyboard_problem({"Buttons": [button]}, 1)


async def test_client_against_the_double() -> None:
    viber = ViberDouble(TOKEN)
    await viber.start()
    try:
        wrong = ViberClient("wrong-token", viber.base_url)
        assert (await wrong.get_account_info()).status == 2
        await wrong.close()
        client = ViberClient(TOKEN, viber.base_url, backoff=0.0)
        info = await client.get_account_info()
        assert info.ok and info.data["name"] == "Соцпослуги"
        body = messages([Reply(text="Hi")], "Bot")[0]
        assert (await client.send_message("nobody==", body)).status == 6
        viber.subscribed.update({"a==", "b=="})
        result = await client.broadcast_message(["a==", "b==", "c=="], body)
        assert result.ok and [f.receiver for f in result.failed] == ["c=="]
        assert [f.status for f in result.failed] == [6]
        with pytest.raises(ValueError):
            await client.broadcast_message([f"u{i}" for i in range(301)], body)
        assert TOKEN not in repr(client)
        await client.close()
    finally:
        await viber.stop()


# -- bulk sending through the messenger -----------------------------------------------------
async def test_deliver_many_broadcasts_and_reports_each_receiver(
    sqlite_url: str, clock: Clock
) -> None:
    async with viber_world(sqlite_url, clock) as world:
        people = [world.person(f"p{i}==", language="en") for i in range(3)]
        for person in people:
            await onboard(person, "en")
        await people[2].unsubscribes()
        world.viber.subscribed.discard("p1==")  # left without a callback: Viber says 6
        world.viber.subscribed.add("stranger==")
        before = len(world.viber.requests)
        results = await world.adapter.messenger.deliver_many(
            ["p0==", "p1==", "p2=="], Reply(text="Office hours change on Friday.")
        )
        assert {u: r.outcome.value for u, r in results.items()} == {
            "p0==": "sent",
            "p1==": "blocked",
            "p2==": "blocked",
        }
        (call,) = world.viber.requests[before:]
        assert call[0] == "broadcast_message" and call[1]["broadcast_list"] == ["p0==", "p1=="]
        assert world.adapter.messenger.max_batch == 300
        stored = await world.stored_person("p1==")
        assert stored is not None and not stored.subscribed


async def test_big_keyboard_and_long_text_reach_a_person(sqlite_url: str, clock: Clock) -> None:
    async with viber_world(sqlite_url, clock) as world:
        person = world.person("reader==", language="en")
        await onboard(person, "en")
        answers = tuple((Button(f"Office {i}", f"o:{i}"),) for i in range(30))
        long = "\n\n".join(f"Paragraph {i}. " + "text " * 400 for i in range(8))
        before = len(world.viber.sent)
        result = await world.adapter.messenger.deliver(
            "reader==", [Reply(text=long, buttons=(*answers, NAV))]
        )
        assert result.ok  # the strict double accepted every piece
        sent = world.viber.sent[before:]
        assert len(sent) == 3 and all(len(s.text) <= TEXT_LIMIT for s in sent)
        assert sent[-1].keyboard is not None and len(sent[-1].keyboard["Buttons"]) == 24
        assert all(s.keyboard is None for s in sent[:-1])
