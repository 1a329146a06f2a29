"""The Viber adapter end to end: signed callbacks into the running aiohttp app,
replies out to the strict Viber API double on 127.0.0.1."""

from __future__ import annotations

import json
import logging

import aiohttp
import pytest

from bot.engine import Context, Dialog, Incoming, Kind, Reply, Request, Step
from tests.conftest import Clock
from tests.doubles.viber_api import ViberRejected, sign
from tests.viber_support import TOKEN, onboard, viber_world


@pytest.fixture(autouse=True)
def _migrate_postgres_outside_the_event_loop(request: pytest.FixtureRequest) -> None:
    # conftest's async `db_url` would migrate PostgreSQL from inside the running loop,
    # where Alembic's asyncio.run() fails: do it first, from this sync fixture.
    callspec = getattr(request.node, "callspec", None)
    if callspec is not None and callspec.params.get("db_url") == "postgres":
        request.getfixturevalue("postgres_migrated")


def keyboard_labels(body: dict[str, object]) -> list[str]:
    keyboard = body.get("keyboard")
    assert isinstance(keyboard, dict)
    return [str(b["Text"]) for b in keyboard["Buttons"]]


# -- start ---------------------------------------------------------------------------------
async def test_webhook_is_registered_and_verified_on_start(sqlite_url: str, clock: Clock) -> None:
    async with viber_world(sqlite_url, clock) as world:
        viber = world.viber
        assert viber.webhook_url is not None
        assert viber.webhook_url.endswith("/viber/webhook")
        assert viber.webhook_checks == [200]  # the `webhook` callback got its 200
        endpoint, body = viber.requests[0]
        assert endpoint == "set_webhook"
        assert "conversation_started" in body["event_types"]
        assert world.app.messengers.get("viber") is world.adapter.messenger


async def test_set_webhook_failure_is_logged_not_fatal(
    sqlite_url: str, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    async with viber_world(sqlite_url, clock) as world:
        base = world.app.settings.public_base_url
        assert base is not None
        world.app.settings.public_base_url = base + "/not-here"  # Viber's check gets a 404
        world.adapter.retry_delays = (0, 0)
        with caplog.at_level(logging.ERROR):
            await world.adapter.register_webhook()
        assert caplog.text.count("set_webhook failed: status 1 (invalidUrl)") == 3
        assert "tried again at the next start" in caplog.text
        assert TOKEN not in caplog.text


async def test_set_webhook_is_retried_until_the_address_answers(
    sqlite_url: str, clock: Clock
) -> None:
    async with viber_world(sqlite_url, clock) as world:
        base = world.app.settings.public_base_url
        world.viber.webhook_url = None
        world.viber.unreachable_checks = 2  # a proxy that comes up a little later
        world.adapter.retry_delays = (0, 0, 0)
        await world.adapter.register_webhook()
        assert world.viber.webhook_checks[-3:] == [0, 0, 200]
        assert world.viber.webhook_url == f"{base}/viber/webhook"


# -- signature -----------------------------------------------------------------------------
async def test_forged_signature_gets_403_and_nothing_is_stored(db_url: str, clock: Clock) -> None:
    async with viber_world(db_url, clock) as world:
        message = {
            "event": "message",
            "timestamp": 1764000000000,
            "message_token": 111,
            "sender": {"id": "forger==", "name": "x", "language": "en"},
            "message": {"type": "text", "text": "hello"},
        }
        raw = json.dumps(message).encode()
        forged = [
            "0" * 64,
            sign("another-token", raw),
            sign(TOKEN, raw + b" "),  # signed, then the body changed
            "not hex at all: ÿ",
        ]
        for signature in forged:
            status, _ = await world.viber.callback(message, signature=signature)
            assert status == 403
        async with (
            aiohttp.ClientSession() as http,
            http.post(world.server.make_url("/viber/webhook"), data=raw) as unsigned,
        ):
            assert unsigned.status == 403  # no signature header at all
        assert await world.people_count() == 0
        assert await world.processed_count() == 0
        assert world.viber.sent == []
        # The same body, signed right, goes through: the check is what refused them.
        status, _ = await world.viber.callback(message)
        assert status == 200
        assert await world.people_count() == 1


# -- conversation_started ------------------------------------------------------------------
async def test_welcome_is_the_response_body_and_stores_nobody(db_url: str, clock: Clock) -> None:
    async with viber_world(db_url, clock) as world:
        person = world.person("new-uk==", language="uk")
        welcome = await person.opens()
        assert welcome["sender"]["name"] == "Соцпослуги"
        assert "Оберіть мову" in welcome["text"] and "choose your language" in welcome["text"]
        assert "Вітаю" in welcome["text"]
        labels = keyboard_labels(welcome)
        assert labels[0].endswith("Українська") and labels[1].endswith("English")
        assert world.viber.sent == []  # nothing through send_message before subscribing
        assert await world.people_count() == 0

        english = await world.person("new-en==", language="en").opens()
        assert english["text"].startswith("Hello!")
        assert keyboard_labels(english)[:2] == keyboard_labels(welcome)[:2]  # one order


# -- whole conversations -------------------------------------------------------------------
async def test_whole_conversation_in_english(sqlite_url: str, clock: Clock) -> None:
    async with viber_world(sqlite_url, clock) as world:
        person = world.person("anna==", language="en")
        await person.opens()
        await person.presses("English")
        assert "What I store" in person.text
        assert any("I agree" in label for label in person.buttons)
        await person.presses("I agree")
        assert "Main menu" in person.text
        assert any("Contacts" in label for label in person.buttons)

        await person.presses("Contacts")
        assert "1545" in person.text and "https://www.pfu.gov.ua" in person.text
        await person.presses("Menu")
        assert "Main menu" in person.text

        await person.presses("My data")
        assert "What I store about you" in person.text
        await person.says("menu")  # typed words work as well as buttons
        assert "Main menu" in person.text

        await person.presses("Language")
        await person.presses("Українська")
        assert "Головне меню" in person.text

        stored = await world.stored_person("anna==")
        assert stored is not None and stored.locale == "uk" and stored.subscribed
        # Every reply reached the person through send_message, one keyboard each time.
        assert all(s.receiver == "anna==" for s in world.viber.sent)


async def test_whole_conversation_in_ukrainian(sqlite_url: str, clock: Clock) -> None:
    async with viber_world(sqlite_url, clock) as world:
        person = world.person("taras==", language="uk")
        await person.opens()
        await person.presses("Українська")
        assert "Що я зберігаю" in person.text
        await person.presses("Погоджуюся")
        assert "Головне меню" in person.text
        await person.presses("Контакти")
        assert "1545" in person.text
        await person.presses("Меню")
        await person.presses("Мої дані")
        assert "Що я зберігаю про вас" in person.text
        await person.says("/help")
        assert "Допомога" in person.text
        await person.presses("Продовжити")
        assert "Що я зберігаю про вас" in person.text


async def test_a_person_who_writes_first_gets_the_language_question(
    sqlite_url: str, clock: Clock
) -> None:
    async with viber_world(sqlite_url, clock) as world:
        person = world.person("direct==", language="en")
        await person.says("hi")
        assert "choose your language" in person.text
        await person.presses("English")
        assert "What I store" in person.text


async def test_a_returning_person_can_use_the_welcome_buttons(
    sqlite_url: str, clock: Clock
) -> None:
    async with viber_world(sqlite_url, clock) as world:
        person = world.person("again==", language="en")
        await onboard(person, "en")
        await person.presses("Contacts")
        await person.opens()  # opens the chat again later: the welcome once more
        await person.presses("Українська")
        assert "Головне меню" in person.text  # no second privacy notice
        stored = await world.stored_person("again==")
        assert stored is not None and stored.locale == "uk"


# -- payloads ------------------------------------------------------------------------------
async def test_typed_payload_reaches_nothing_that_was_not_offered(
    sqlite_url: str, clock: Clock
) -> None:
    async with viber_world(sqlite_url, clock) as world:
        person = world.person("mallory==", language="en")
        await onboard(person, "en")
        await person.presses("Contacts")
        await person.says("m:data")  # the My data payload, typed while it is not shown
        assert "What I store about you" not in person.text
        await person.says("delete")  # the erase step's payload, never offered
        assert await world.stored_person("mallory==") is not None
        await person.presses("Menu")
        await person.says("m:data")  # now it is on the keyboard: it counts as the press
        assert "What I store about you" in person.text


async def test_duplicate_callback_is_handled_once(db_url: str, clock: Clock) -> None:
    async with viber_world(db_url, clock) as world:
        person = world.person("dup==", language="en")
        await onboard(person, "en")
        token = world.viber.new_token()
        first = await person.says("m:contacts", message_token=token)
        assert len(first) >= 1 and "1545" in person.text
        again = await person.says("m:contacts", message_token=token)
        assert again == [] and person.last_status == 200


# -- subscription --------------------------------------------------------------------------
async def test_unsubscribed_person_is_never_messaged_until_they_write(
    db_url: str, clock: Clock
) -> None:
    async with viber_world(db_url, clock) as world:
        person = world.person("leaver==", language="en")
        await onboard(person, "en")
        assert await person.unsubscribes() == 200
        stored = await world.stored_person("leaver==")
        assert stored is not None and not stored.subscribed

        messenger = world.adapter.messenger
        calls_before = len(world.viber.requests)
        result = await messenger.deliver("leaver==", [Reply(text="Your status changed")])
        assert result.outcome.value == "blocked"
        many = await messenger.deliver_many(["leaver=="], Reply(text="News"))
        assert many["leaver=="].outcome.value == "blocked"
        assert len(world.viber.requests) == calls_before  # Viber was not even asked

        await person.says("menu")  # they came back
        stored = await world.stored_person("leaver==")
        assert stored is not None and stored.subscribed
        assert (await messenger.deliver("leaver==", [Reply(text="Welcome back")])).ok


async def test_subscribed_callback_stores_nobody_new_but_marks_a_returning_person(
    db_url: str, clock: Clock
) -> None:
    async with viber_world(db_url, clock) as world:
        stranger = world.person("stranger==")
        assert await stranger.subscribes() == 200
        assert await world.people_count() == 0

        person = world.person("back==", language="en")
        await onboard(person, "en")
        await person.unsubscribes()
        await person.subscribes()
        stored = await world.stored_person("back==")
        assert stored is not None and stored.subscribed


async def test_replayed_unsubscribe_does_not_undo_a_later_message(
    sqlite_url: str, clock: Clock
) -> None:
    async with viber_world(sqlite_url, clock) as world:
        person = world.person("replay==", language="en")
        await onboard(person, "en")
        token = world.viber.new_token()
        await person.unsubscribes(message_token=token)
        await person.says("menu")
        await person.unsubscribes(message_token=token)  # Viber retrying the old callback
        stored = await world.stored_person("replay==")
        assert stored is not None and stored.subscribed


async def test_status_6_marks_the_person_unsubscribed(db_url: str, clock: Clock) -> None:
    async with viber_world(db_url, clock) as world:
        person = world.person("gone==", language="en")
        await onboard(person, "en")
        world.viber.subscribed.discard("gone==")  # left without us hearing of it
        result = await world.adapter.messenger.deliver("gone==", [Reply(text="Reminder")])
        assert result.outcome.value == "blocked" and result.reason == "viber:6"
        stored = await world.stored_person("gone==")
        assert stored is not None and not stored.subscribed


async def test_status_12_backs_off_and_retries(sqlite_url: str, clock: Clock) -> None:
    async with viber_world(sqlite_url, clock) as world:
        person = world.person("busy==", language="en")
        await onboard(person, "en")
        world.adapter.client.backoff = 0.0  # the delays themselves are not under test
        world.viber.too_many_requests = 2
        before = len(world.viber.requests)
        result = await world.adapter.messenger.deliver("busy==", [Reply(text="Reminder")])
        assert result.ok
        assert len(world.viber.requests) - before == 3
        assert world.viber.sent[-1].text == "Reminder"

        world.viber.too_many_requests = 100  # still refused after every retry
        result = await world.adapter.messenger.deliver("busy==", [Reply(text="Again")])
        assert result.outcome.value == "rate_limited" and result.retry_after
        stored = await world.stored_person("busy==")
        assert stored is not None and stored.subscribed


# -- phone and location ----------------------------------------------------------------------
probe = Dialog("viber_probe")


@probe.step("phone")
class AskPhone(Step):
    async def show(self, ctx: Context) -> None:
        ctx.ask("Share your phone, please.", request=Request.PHONE, request_label="📞 My phone")

    async def handle(self, ctx: Context, event: Incoming) -> None:
        if event.kind is not Kind.CONTACT or not event.phone:
            return ctx.invalid("Use the phone button.")
        ctx.data["tail"] = event.phone[-2:]
        return ctx.goto("place")


@probe.step("place")
class AskPlace(Step):
    async def show(self, ctx: Context) -> None:
        ctx.ask("Where are you?", request=Request.LOCATION, request_label="📍 My location")

    async def handle(self, ctx: Context, event: Incoming) -> None:
        if event.kind is not Kind.LOCATION:
            return ctx.invalid("Use the location button.")
        ctx.say(f"Phone …{ctx.data['tail']}, at {event.latitude:.2f},{event.longitude:.2f}")
        return ctx.menu()


async def test_share_phone_and_location(db_url: str, clock: Clock) -> None:
    async with viber_world(db_url, clock) as world:
        world.app.engine.dialogs.register(probe)
        person = world.person("geo==", language="en")
        await onboard(person, "en")
        await world.put_in("geo==", "viber_probe", "phone")
        await person.says("hello")  # not an answer: the question comes again, with its button
        last = person.last[-1]
        assert last.body["min_api_version"] >= 3
        with pytest.raises(ViberRejected):
            await person.shares_location(50.45, 30.52)  # no such button on the keyboard
        await person.shares_phone("+380501234567")
        assert "Where are you?" in person.text
        await person.shares_location(50.4501, 30.5234)
        assert "Phone …67, at 50.45,30.52" in person.text
        assert "Main menu" in person.text


async def test_unsupported_message_gets_a_polite_answer(sqlite_url: str, clock: Clock) -> None:
    async with viber_world(sqlite_url, clock) as world:
        person = world.person("sticker==", language="en")
        await onboard(person, "en")
        await person.sends({"type": "sticker", "sticker_id": 46105})
        assert "text and buttons" in person.text
        await person.sends({"type": "file", "media": "http://127.0.0.1/x", "file_name": "a"})
        assert person.last_status == 200 and person.last


# -- receipts ------------------------------------------------------------------------------
async def test_receipts_are_recorded_once_without_personal_data(db_url: str, clock: Clock) -> None:
    from sqlalchemy import select

    from bot.services import receipts
    from storage.models.viber import ViberReceipt

    async with viber_world(db_url, clock) as world:
        token = world.viber.new_token()

        async def receipt(event: str, user_id: str, **extra: object) -> int:
            status, _ = await world.viber.callback(
                {
                    "event": event,
                    "timestamp": 1764000000000,
                    "message_token": token,
                    "user_id": user_id,
                    **extra,
                }
            )
            return status

        assert await receipt("delivered", "a==") == 200
        assert await receipt("delivered", "a==") == 200  # re-delivered
        assert await receipt("delivered", "b==") == 200  # a broadcast: same token
        assert await receipt("seen", "a==") == 200
        assert await receipt("failed", "c==", desc="message validation failed") == 200
        async with world.app.db.transaction() as session:
            assert await receipts.counts(session, str(token)) == {
                "delivered": 2,
                "seen": 1,
                "failed": 1,
            }
            rows = (await session.scalars(select(ViberReceipt))).all()
        assert all(r.receiver_key not in ("a==", "b==", "c==") for r in rows)
        assert {r.reason for r in rows if r.event == "failed"} == {"message validation failed"}
        assert await world.people_count() == 0


async def test_unknown_event_is_acknowledged(sqlite_url: str, clock: Clock) -> None:
    async with viber_world(sqlite_url, clock) as world:
        status, _ = await world.viber.callback(
            {"event": "client_status", "timestamp": 1764000000000, "message_token": 5}
        )
        assert status == 200
        status, _ = await world.viber.callback({"event": "message", "timestamp": 1})
        assert status == 400  # signed but malformed: no sender
