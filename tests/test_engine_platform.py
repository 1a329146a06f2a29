"""The engine calls an adapter makes besides `handle` (bot/engine/platform.py).

The adapters' own suites (Viber, Telegram) drive these through the real stacks;
here each call is checked on its own, as any adapter would use it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot.app import App
from bot.engine import Incoming, Kind
from bot.engine.platform import Notice
from handlers.conversation import Conversation
from storage.models import Person
from storage.repositories import People
from tests.conftest import onboard
from tests.test_step_statements import statements


async def people_count(app: App) -> int:
    async with app.db.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(Person)) or 0)


async def test_the_welcome_stores_nobody(app: App) -> None:
    replies = await app.engine.welcome("test", "stranger", "uk")
    assert replies[0].text.startswith("Вітаю!")
    labels = [button.label for reply in replies for row in reply.buttons for button in row]
    assert any("English" in label for label in labels)
    assert any("Українська" in label for label in labels)
    assert await people_count(app) == 0


async def test_text_is_a_press_only_if_that_button_was_offered(app: App) -> None:
    engine = app.engine
    chat = Conversation(engine, user_id="5")
    await onboard(chat)
    offered = chat.payload_of("Contacts")
    base = Incoming("test", "5", Kind.TEXT, event_id="m1")

    [pressed] = await engine.read_text(replace(base, text=offered), api_version=7)
    assert (pressed.kind, pressed.payload) == (Kind.BUTTON, offered)
    [typed] = await engine.read_text(replace(base, text="g:console"))
    assert (typed.kind, typed.text) == (Kind.TEXT, "g:console")  # a payload never offered
    async with app.db.transaction() as session:
        person = await People(session).find("test", "5")
        assert person is not None and person.api_version == 7

    # The welcome's language buttons work before anything was stored: the language
    # screen opens first, so that the press lands where it was made.
    opening, press = await engine.read_text(
        Incoming("test", "new", Kind.TEXT, text="🇬🇧 English", event_id="m2")
    )
    assert (opening.kind, opening.text, opening.event_id) == (Kind.COMMAND, "/start", "m2:welcome")
    assert press.kind is Kind.BUTTON and press.payload


async def test_subscription_callbacks_count_once(app: App) -> None:
    engine = app.engine
    chat = Conversation(engine, user_id="6")
    await onboard(chat)
    await engine.note_subscription("test", "6", subscribed=False, event_id="t1")
    await engine.note_subscription("test", "6", subscribed=True, event_id="t1")  # re-delivered
    async with app.db.transaction() as session:
        person = await People(session).find("test", "6")
        assert person is not None and not person.subscribed
    await engine.note_subscription("test", "stranger", subscribed=True, event_id="t2")
    assert await people_count(app) == 1  # subscribing stores nobody new


async def test_texts_outside_dialogs_come_in_the_persons_language(app: App) -> None:
    engine = app.engine
    assert engine.notice(Notice.FLOOD, "uk").text.startswith("Ви пишете швидше")
    assert engine.notice(Notice.FLOOD, "en").text.startswith("You are writing faster")
    named = engine.notice(Notice.PRIVATE_CHAT_ONLY_NAMED, "en", username="PoruchBot")
    assert named.text.endswith("@PoruchBot")
    assert ("help", "Допомога") in engine.command_menu("uk")

    chat = Conversation(engine, user_id="7", language_code="uk")
    await onboard(chat, "en")  # chose English though the app speaks Ukrainian
    assert await engine.locale_of("test", "7", "uk") == "en"
    assert await engine.locale_of("test", "nobody", "uk") == "uk"
    refusal, *question = await engine.refuse_contact(
        Incoming("test", "7", Kind.CONTACT, phone="+380501234567", event_id="c1")
    )
    assert refusal.text.startswith("This is someone else's contact")
    assert question, "the question is asked again"
    assert (
        await engine.refuse_contact(  # a re-delivered update: answered already
            Incoming("test", "7", Kind.CONTACT, phone="+380501234567", event_id="c1")
        )
        == []
    )


async def test_kept_replies_are_taken_once(app: App) -> None:
    engine = app.engine
    event = Incoming("test", "8", Kind.COMMAND, text="/start", event_id="u1")
    replies = await engine.handle(event, keep_for="chat-8")
    later = datetime.now(UTC) + timedelta(minutes=1)  # claims carry the wall-clock time
    [kept] = await engine.take_unsent("test", later)
    assert (kept.to, kept.replies) == ("chat-8", replies)
    assert await engine.take_unsent("test", later) == []

    await engine.handle(replace(event, event_id="u2"), keep_for="chat-8")
    await engine.replies_sent("test", ["u2"])
    assert await engine.take_unsent("test", later) == []


async def test_replies_marked_sent_in_batches_of_any_size_use_one_statement(app: App) -> None:
    engine = app.engine
    ids = [f"s{n}" for n in range(6)]
    for event_id in ids:
        event = Incoming("test", "9", Kind.COMMAND, text="/start", event_id=event_id)
        await engine.handle(event, keep_for="chat-9")
    with statements(app) as sent:
        await engine.replies_sent("test", ids[:1])
        await engine.replies_sent("test", ids[1:3])
        await engine.replies_sent("test", ids[3:])

    later = datetime.now(UTC) + timedelta(minutes=1)
    assert await engine.take_unsent("test", later) == []  # every one of them cleared
    if app.db.is_postgres:  # one prepared statement, whatever the batch's size
        updates = [s for s in sent if s.upper().startswith("UPDATE PROCESSED_EVENTS")]
        assert len(updates) == 3 and len(set(updates)) == 1, updates
