"""Viber API levels: each message declares what its fields need, never more than the
person's client supports; old clients get a keyboard they can show; the double refuses
what Viber refuses (status 14, status 13, bad fields, 30 KB)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.engine import Button, Reply, Request
from handlers.viber.client import ViberClient, encode
from handlers.viber.render import (
    MAX_BODY_BYTES,
    body_size,
    keyboard,
    messages,
    required_api_version,
    tier,
    welcome,
)
from tests.conftest import Clock
from tests.doubles.viber_api import (
    ViberDouble,
    ViberRejected,
    keyboard_problem,
    message_problem,
    needed_api_version,
)
from tests.viber_support import TOKEN, onboard, viber_world

NAV = (Button("◀ Back", "g:back"), Button("☰ Menu", "g:menu"))
QUESTION = Reply(
    text="Where would you like to go?",
    buttons=((Button("🗺 Choose the oblast", "obl"),), NAV),
    request=Request.LOCATION,
    request_label="📍 Send my location",
)


def buttons(body: dict[str, Any]) -> list[dict[str, Any]]:
    return list(body["keyboard"]["Buttons"])


# -- what each message declares ----------------------------------------------------------------
def test_min_api_version_follows_the_fields_used() -> None:
    plain = {"type": "text", "text": "Hi"}
    assert required_api_version(plain) == 1
    button = {"ActionType": "reply", "ActionBody": "a", "Text": "A"}
    board = {"Type": "keyboard", "Buttons": [button]}
    assert required_api_version({**plain, "keyboard": board}) == 1
    assert required_api_version({**plain, "keyboard": {**board, "InputFieldState": "hidden"}}) == 4
    silent = {**board, "Buttons": [{**button, "Silent": True}]}
    assert required_api_version({**plain, "keyboard": silent}) == 4
    phone = {**board, "Buttons": [{**button, "ActionType": "share-phone"}]}
    assert required_api_version({**plain, "keyboard": phone}) == 3
    fit = {**board, "Buttons": [{**button, "TextShouldFit": True}]}
    assert required_api_version({**plain, "keyboard": fit}) == 6
    assert required_api_version({"type": "rich_media"}) == 7
    # The double reckons on its own, from its own copy of the table: they agree.
    for body in (plain, {**plain, "keyboard": silent}, {**plain, "keyboard": phone}):
        assert needed_api_version(body) == required_api_version(body)


@pytest.mark.parametrize("level", [10, 4, 3, 2, 1, None])
def test_every_message_declares_exactly_what_it_needs_and_no_more_than_the_client(
    level: int | None,
) -> None:
    for replies in ([QUESTION], [Reply(text="Hi")], [Reply(text="A"), QUESTION]):
        for body in messages(replies, "Bot", api_version=level):
            assert body["min_api_version"] == needed_api_version(body)
            assert body["min_api_version"] <= (level or 1)
            assert message_problem(body) is None


def test_current_clients_get_silent_buttons_that_send_their_code() -> None:
    (body,) = messages([QUESTION], "Bot", api_version=10)
    assert body["min_api_version"] == 4
    assert body["keyboard"]["InputFieldState"] == "regular"
    first, *answers = buttons(body)
    assert first["ActionType"] == "location-picker"
    assert [b["ActionBody"] for b in answers] == ["obl", "g:back", "g:menu"]
    assert all(b["Silent"] is True for b in answers)


def test_level_3_clients_get_buttons_that_send_their_own_label() -> None:
    (body,) = messages([QUESTION], "Bot", api_version=3)
    assert body["min_api_version"] == 3  # the location button, nothing newer
    assert "InputFieldState" not in body["keyboard"]
    first, *answers = buttons(body)
    assert first["ActionType"] == "location-picker"
    assert [b["ActionBody"] for b in answers] == ["🗺 Choose the oblast", "◀ Back", "☰ Menu"]
    assert not any("Silent" in b for b in buttons(body))


def test_a_label_used_twice_sends_the_code_on_old_clients() -> None:
    reply = Reply(
        text="Applications I follow",
        buttons=((Button("📄 A-1", "show:1"), Button("🔕 Stop", "unf:1")),
                 (Button("📄 A-2", "show:2"), Button("🔕 Stop", "unf:2"))),
    )  # fmt: skip
    board = keyboard([reply], api_version=3)
    assert board is not None
    assert [b["ActionBody"] for b in board["Buttons"]] == ["📄 A-1", "unf:1", "📄 A-2", "unf:2"]


def test_the_oldest_clients_get_no_share_buttons_and_unknown_ones_are_treated_so() -> None:
    for level in (1, 2, None):
        (body,) = messages([QUESTION], "Bot", api_version=level)
        assert body["min_api_version"] == 1
        assert {b["ActionType"] for b in buttons(body)} == {"reply"}
    assert [tier(v) for v in (None, 1, 2, 3, 4, 10)] == [1, 1, 1, 3, 4, 4]


def test_welcome_is_built_for_the_client_too() -> None:
    replies = [Reply(text="Hello"), Reply(text="Language?", buttons=((Button("UA", "lang:uk"),),))]
    assert welcome(replies, "Bot", api_version=10)["min_api_version"] == 4
    old = welcome(replies, "Bot", api_version=3)
    assert old["min_api_version"] == 1 and buttons(old)[0]["ActionBody"] == "UA"


def test_bodies_stay_within_30_kb_with_room_for_300_receivers() -> None:
    ukrainian = "\n\n".join("Це довгий абзац українською мовою. " * 60 for _ in range(12))
    answers = tuple(
        (Button(f"Відділення № {i} — довга назва " * 3, f"of:{i}"),) for i in range(30)
    )
    bodies = messages([Reply(text=ukrainian, buttons=(*answers, NAV))], "Bot", api_version=10)
    assert len(bodies) >= 3
    receivers = [f"{i:024d}=" for i in range(300)]
    for body in bodies:
        assert len(encode({**body, "broadcast_list": receivers})) <= MAX_BODY_BYTES
        assert body_size(body) == len(encode(body))
    # As it used to be sent (every Cyrillic letter escaped), a piece would not fit.
    assert len(json.dumps(bodies[0]).encode()) > MAX_BODY_BYTES // 2


# -- the double is as strict as Viber ------------------------------------------------------------
def test_double_refuses_fields_newer_than_declared_and_bad_values() -> None:
    button = {"Columns": 6, "Rows": 1, "ActionType": "reply", "ActionBody": "a", "Text": "A"}
    board = {"Type": "keyboard", "Buttons": [{**button, "Silent": True}]}
    body = {"sender": {"name": "Bot"}, "type": "text", "text": "Hi", "keyboard": board}
    refused = message_problem(body)
    assert refused is not None and refused[0] == 14
    assert message_problem({**body, "min_api_version": 4}) is None
    assert message_problem({**body, "min_api_version": "4"}) == (
        3,
        "badData: min_api_version must be a whole number from 1",
    )

    def status(**changes: Any) -> int | None:
        problem = keyboard_problem({"Type": "keyboard", "Buttons": [{**button, **changes}]}, 10)
        return problem[0] if problem else None

    assert status() is None
    assert status(TextSize="huge") == 3
    assert status(TextHAlign="middle") == 3
    assert status(TextVAlign="center") == 3
    assert status(Rows=3) == 3
    assert status(Columns=0) == 3
    assert status(BgColor="violet") == 3
    assert status(Silent="yes") == 3
    assert status(TextOpacity=101) == 3
    assert status(Colour="#FFFFFF") == 3  # a field Viber does not know
    wrong_input = {"Type": "keyboard", "Buttons": [button], "InputFieldState": "large"}
    assert keyboard_problem(wrong_input, 10) is not None


async def test_double_answers_13_to_a_receiver_whose_client_is_too_old() -> None:
    viber = ViberDouble(TOKEN)
    await viber.start()
    client = ViberClient(TOKEN, viber.base_url, backoff=0.0)
    try:
        viber.subscribed.update({"new==", "old==", "gone=="})
        viber.api_versions.update({"new==": 10, "old==": 3})
        (current,) = messages([QUESTION], "Bot", api_version=10)
        assert (await client.send_message("new==", current)).ok
        refused = await client.send_message("old==", current)
        assert (refused.status, refused.status_message) == (13, "apiVersionNotSupported")
        viber.subscribed.discard("gone==")
        result = await client.broadcast_message(["new==", "old==", "gone=="], current)
        assert result.ok
        assert {(f.receiver, f.status) for f in result.failed} == {("old==", 13), ("gone==", 6)}
        undeclared = {**current, "min_api_version": 1}
        assert (await client.send_message("new==", undeclared)).status == 14
        too_big = {**current, "text": "ї" * 7000, "sender": {"name": "Bot"}}
        wide = {**buttons(current)[1], "Text": "ї" * 250, "ActionBody": "ї" * 250}
        too_big["keyboard"] = {**current["keyboard"], "Buttons": [wide] * 24}
        assert len(encode(too_big)) > MAX_BODY_BYTES
        assert (await client.send_message("new==", too_big)).status == 3
    finally:
        await client.close()
        await viber.stop()


# -- old clients through the whole bot ------------------------------------------------------------
async def test_an_old_client_uses_the_bot_and_its_level_is_remembered(
    sqlite_url: str, clock: Clock
) -> None:
    async with viber_world(sqlite_url, clock) as world:
        person = world.person("old==", language="en", api_version=3)
        welcome_body = await person.opens()  # the double refuses anything above level 3
        assert welcome_body["min_api_version"] <= 3
        await onboard(person, "en")  # presses send their labels: "🇬🇧 English", "✅ I agree"
        assert "Main menu" in person.text
        await person.presses("Find an office")
        assert "Send your location" in person.text
        assert person.last[-1].body["min_api_version"] == 3
        await person.presses("Choose the oblast")
        assert "Choose the oblast" in person.text
        await person.presses("Menu")
        assert "Main menu" in person.text
        stored = await world.stored_person("old==")
        assert stored is not None and stored.api_version == 3
        await person.presses("My data")  # everything stored is shown, this too
        assert "Viber app level (what its buttons can do): 3" in person.text
        # A message the bot starts later (a reminder, an announcement) fits the client too.
        before = len(world.viber.sent)
        menu = Reply(text="Reminder", buttons=((Button("📋 My appointments", "o:booking:mine"),),))
        assert (await world.adapter.messenger.deliver("old==", [menu])).ok
        (reminder,) = world.viber.sent[before:]
        assert reminder.body["min_api_version"] == 1
        (button,) = reminder.keyboard["Buttons"]  # type: ignore[index]
        assert "Silent" not in button
        assert button["ActionBody"] == "o:booking:mine"  # opens the step by its code
        await person.presses("My appointments")
        assert "My appointments" in person.text


async def test_an_updated_client_is_remembered_at_its_new_level(
    sqlite_url: str, clock: Clock
) -> None:
    async with viber_world(sqlite_url, clock) as world:
        person = world.person("updates==", language="en", api_version=3)
        await onboard(person, "en")
        person.api_version = world.viber.api_versions["updates=="] = 10
        await person.presses("Contacts")
        assert person.last[-1].body["min_api_version"] == 4  # silent buttons again
        stored = await world.stored_person("updates==")
        assert stored is not None and stored.api_version == 10


async def test_announcement_reaches_old_and_new_clients_in_one_go(
    sqlite_url: str, clock: Clock
) -> None:
    async with viber_world(sqlite_url, clock) as world:
        people = {
            "new==": world.person("new==", language="en", api_version=10),
            "old==": world.person("old==", language="en", api_version=3),
            "older==": world.person("older==", language="en", api_version=1),
        }
        for person in people.values():
            await onboard(person, "en")
        before = len(world.viber.requests)
        reply = Reply(text="Office hours change on Friday.", buttons=((NAV[1],),))
        results = await world.adapter.messenger.deliver_many(list(people), reply)
        assert {u: r.outcome.value for u, r in results.items()} == dict.fromkeys(people, "sent")
        calls = [body for endpoint, body in world.viber.requests[before:]]
        # Level 3 and level 1 clients get the same message here (no share buttons): one call.
        assert [(c["broadcast_list"], c["min_api_version"]) for c in calls] == [
            (["new=="], 4),
            (["old==", "older=="], 1),
        ]


async def test_a_level_3_welcome_button_works_on_the_first_message(
    sqlite_url: str, clock: Clock
) -> None:
    async with viber_world(sqlite_url, clock) as world:
        person = world.person("first==", language="uk", api_version=3)
        await person.opens()
        with pytest.raises(ViberRejected):
            await person.shares_location(50.45, 30.52)  # not offered on the welcome
        await person.presses("English")  # sends "🇬🇧 English": nothing is stored yet
        assert "What I store" in person.text


async def test_subscribing_again_updates_the_level_and_a_malformed_one_is_ignored(
    sqlite_url: str, clock: Clock
) -> None:
    async with viber_world(sqlite_url, clock) as world:
        person = world.person("back==", language="en", api_version=3)
        await onboard(person, "en")
        person.api_version = world.viber.api_versions["back=="] = 10
        assert await person.subscribes() == 200
        stored = await world.stored_person("back==")
        assert stored is not None and stored.api_version == 10

        strange = world.person("strange==", language="en")
        strange._user = lambda: {"id": "strange==", "api_version": "10"}  # type: ignore[method-assign]
        await strange.opens()  # not a number: treated as unknown, the plainest welcome
        assert strange.welcome is not None and strange.welcome["min_api_version"] == 1
        assert "Silent" not in buttons(strange.welcome)[0]
        await strange.presses("English")
        assert "What I store" in strange.text
        assert strange.last[-1].body["min_api_version"] == 1
