"""A case crosses messengers: asked on Telegram, answered from Viber, and the reverse.

The real adapters (aiogram against the Bot API double, our Viber adapter
against the Viber double) run in one bot with the outbox worker, as `python -m
bot run` has them; the staff answer reaches the person through the outbox on
the person's own messenger.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from unittest.mock import patch

from aiohttp.test_utils import TestServer
from sqlalchemy import select

import bot.app
from bot.app import App, build_app
from bot.server import build_web_app
from bot.services.cases.notify import StaffPosts
from handlers.telegram import TELEGRAM_ADAPTER, TelegramAdapter, telegram
from handlers.viber import viber_adapter
from storage.models import OutboxMessage
from storage.models.cases import Case
from tests.broadcast_support import RunningWorker, wait_until
from tests.conftest import Clock, make_settings
from tests.doubles.telegram_api import Sent, TelegramApiDouble
from tests.doubles.viber_api import ViberDouble, ViberPerson
from tests.telegram_support import WAIT, Person, RunningBot
from tests.viber_support import TOKEN, shared_resources
from tests.viber_support import onboard as viber_onboard

TG_STAFF = 900
VIBER_STAFF = "staffViber01=="
TG_CITIZEN = 4242
VIBER_CITIZEN = "citizenViber7=="


@dataclass
class Both:
    app: App
    telegram: RunningBot
    viber: ViberDouble


@asynccontextmanager
async def both_messengers(db_url: str, clock: Clock, **overrides: Any) -> AsyncIterator[Both]:
    tg = TelegramApiDouble()
    await tg.start()
    viber = ViberDouble(TOKEN)
    await viber.start()
    settings = make_settings(
        db_url,
        telegram_token=tg.token,
        telegram_api_base=tg.base_url,
        viber_token=TOKEN,
        viber_api_base=viber.base_url,
        public_base_url="http://127.0.0.1:9",
        staff_ids=f"telegram:{TG_STAFF},viber:{VIBER_STAFF}",
        **overrides,
    )
    with patch.object(bot.app, "load_resources", shared_resources):
        app = await build_app(settings, migrate=False, clock=clock)
    web_app = build_web_app(app)
    tg_job = await telegram(app, web_app)
    viber_job = await viber_adapter(app, web_app)
    server = TestServer(web_app, host="127.0.0.1")
    await server.start_server()
    settings.public_base_url = str(server.make_url("")).rstrip("/")
    assert viber_job is not None
    await viber_job()
    task = asyncio.create_task(tg_job())
    adapter: TelegramAdapter = web_app[TELEGRAM_ADAPTER]
    running = RunningBot(app, tg, adapter, task, server.port or 0)
    try:
        await tg.wait_until(lambda: bool(tg.calls_of("getUpdates")))
        async with RunningWorker(app):
            yield Both(app, running, viber)
    finally:
        task.cancel()
        async with asyncio.timeout(WAIT):
            await asyncio.gather(task, return_exceptions=True)
        await server.close()
        await viber.stop()
        await tg.stop()
        await app.close()


async def tg_onboard(person: Person) -> None:
    await person.says("/start")
    await person.presses("English")
    await person.presses("I agree")


async def viber_opens_cases(staff: ViberPerson) -> None:
    await staff.says("menu")
    await staff.presses("Staff")
    await staff.presses("Cases")


async def the_case(app: App) -> Case:
    async with app.db.transaction() as session:
        case = await session.scalar(select(Case))
        assert case is not None
        return case


async def test_telegram_question_answered_from_viber(db_url: str, clock: Clock) -> None:
    async with both_messengers(db_url, clock) as world:
        person = world.telegram.person(TG_CITIZEN, language_code="en")
        await tg_onboard(person)
        await person.presses("Ask a specialist")
        await person.presses("Benefits")
        await person.says("Will my housing subsidy continue after I move?")
        await person.says("No, answer me here")  # a reply-keyboard choice arrives typed
        person.expect("Your case number is")
        code = (await the_case(world.app)).code

        staff = world.viber.person(VIBER_STAFF, language="en")
        await viber_onboard(staff, "en")
        await viber_opens_cases(staff)
        assert any(code in b and "telegram" in b for b in staff.buttons), staff.buttons
        await staff.presses(code)
        assert "housing subsidy" in staff.text
        await staff.presses("Take this case")
        await staff.presses("Reply")
        await staff.says("Yes: tell the new hromada within 10 days.")
        assert "Sent to the person" in staff.text

        answer = await world.telegram.double.wait_for_text(TG_CITIZEN, "tell the new hromada")
        assert code in answer.text
        assert world.viber.sent_to(VIBER_STAFF)[-1].text != answer.text
        # The answer's "Reply" button works on Telegram.
        before = len(person.tg.received)
        await world.telegram.handled(
            await person.tg.presses_data(answer.buttons[0]["callback_data"], answer)
        )
        person.last = person.tg.received_since(before)
        person.expect(f"Write your message for case {code}")
        await person.says("Thank you!")
        note = await wait_for_viber(world.viber, VIBER_STAFF, "Thank you!")
        assert code in note

        # On Viber the notice's keyboard replaces the staff member's: it leads back.
        await staff.presses("Open my cases")
        await staff.presses(code)
        assert "Thank you!" in staff.text
        await staff.presses("Close")
        await staff.presses("Answered")
        closing = await world.telegram.double.wait_for_text(TG_CITIZEN, "How satisfied")
        before = len(person.tg.received)
        four = next(b for b in closing.buttons if b["text"] == "4")
        await world.telegram.handled(await person.tg.presses_data(four["callback_data"], closing))
        person.last = person.tg.received_since(before)
        person.expect("Thank you! Your rating")
        assert (await the_case(world.app)).rating == 4
        await assert_each_sent_once(world.app)


async def wait_for_viber(viber: ViberDouble, user_id: str, text: str) -> str:
    await wait_until(lambda: any(text in s.text for s in viber.sent_to(user_id)))
    return next(s.text for s in viber.sent_to(user_id) if text in s.text)


async def assert_each_sent_once(app: App) -> None:
    async def recorded() -> bool:
        async with app.db.transaction() as session:
            rows = (await session.scalars(select(OutboxMessage))).all()
        return bool(rows) and all(row.state != "sending" for row in rows)

    await wait_until(recorded)  # the worker records outcomes within ~50 ms of sending
    async with app.db.transaction() as session:
        rows = (await session.scalars(select(OutboxMessage))).all()
    assert all(row.state == "sent" and row.attempts == 1 for row in rows)


async def test_viber_question_answered_from_telegram(db_url: str, clock: Clock) -> None:
    async with both_messengers(db_url, clock) as world:
        person = world.viber.person(VIBER_CITIZEN, language="uk")
        await viber_onboard(person, "uk")
        await person.presses("Запитати фахівця")
        await person.presses("Статус заяви")
        await person.says("Чому мою заяву досі розглядають?")
        await person.shares_phone("+380501234567")
        assert "Номер вашого звернення" in person.text
        case = await the_case(world.app)
        assert case.phone == "+380501234567"

        staff = world.telegram.person(TG_STAFF, language_code="en")
        await tg_onboard(staff)
        await staff.presses("Staff")
        await staff.presses("Cases")
        assert any(case.code in b and "viber" in b and "uk" in b for b in staff.buttons)
        await staff.presses(case.code)
        staff.expect("досі розглядають", r"\+380501234567")
        await staff.presses("Take this case")
        await staff.presses("Ready answer")
        await staff.presses("How long a decision takes")
        staff.expect("Заяву зазвичай розглядають")  # the person's language, before sending
        await staff.presses("Send")
        staff.expect("Sent to the person")

        answer = await wait_for_viber(world.viber, VIBER_CITIZEN, "Заяву зазвичай розглядають")
        assert case.code in answer and "Відповідь фахівця" in answer
        await assert_each_sent_once(world.app)


STAFF_GROUP = -1001234567890


async def group_reply(world: Both, user_id: int, post: Sent, text: str) -> list[Sent]:
    """A member of the staff group answers the bot's post with Telegram's "Reply"."""
    double = world.telegram.double
    group = {"id": STAFF_GROUP, "type": "supergroup", "title": "Соцзахист: фахівці"}
    before = len(double.sent_to(STAFF_GROUP))
    update_id = await double.push(
        {
            "message": {
                "message_id": next(double._message_ids),
                "date": int(time.time()),
                "chat": group,
                "from": {"id": user_id, "is_bot": False, "first_name": "Staff"},
                "text": text,
                "reply_to_message": {
                    "message_id": post.message_id,
                    "date": int(time.time()),
                    "chat": group,
                    "from": double._bot_user(),
                    "text": post.text,
                },
            }
        }
    )
    await world.telegram.handled(update_id)
    return double.sent_to(STAFF_GROUP)[before:]


async def test_new_cases_go_to_the_staff_group_and_a_reply_there_answers(
    db_url: str, clock: Clock
) -> None:
    async with both_messengers(db_url, clock, staff_chat_id=STAFF_GROUP) as world:
        app = world.app
        # A poll too slow for this test: the case's commit must wake the service.
        posts = StaffPosts(app.db, app.messengers, app.settings, clock, poll_seconds=60)
        service = asyncio.create_task(posts.run())
        await asyncio.sleep(0)  # it posts nothing now, then waits for a wake-up
        try:
            world.telegram.double.know_chat(
                {"id": STAFF_GROUP, "type": "supergroup", "title": "Соцзахист: фахівці"}
            )
            person = world.viber.person(VIBER_CITIZEN, language="en")
            await viber_onboard(person, "en")
            await person.presses("Ask a specialist")
            await person.presses("Benefits")
            await person.says("Is there help for a single father?")
            await person.shares_phone("+380501234567")
            case = await the_case(world.app)

            post = await world.telegram.double.wait_for_text(STAFF_GROUP, "single father")
            assert case.code in post.text and "Viber" in post.text
            assert "380501234567" not in post.text  # the phone stays in the private chat
            await wait_until(lambda: the_case_posted(world.app))

            # Someone in the group who is not staff cannot answer.
            refused = await group_reply(world, 555, post, "I know! Call me.")
            # (in DEFAULT_LOCALE: neither has chosen a language with the bot)
            assert [m.text for m in refused] == [
                "Відповідати на звернення можуть лише працівники."
            ]
            assert not [s for s in world.viber.sent_to(VIBER_CITIZEN) if "Call me" in s.text]

            acks = await group_reply(world, TG_STAFF, post, "Yes: single parent assistance.")
            assert acks[0].text == f"Надіслано людині (звернення {case.code})."
            answer = await wait_for_viber(world.viber, VIBER_CITIZEN, "single parent assistance")
            assert case.code in answer
            taken = await the_case(world.app)
            assert (taken.assignee, taken.state) == (f"telegram:{TG_STAFF}", "taken")
            await assert_each_sent_once(world.app)
        finally:
            service.cancel()
            await asyncio.gather(service, return_exceptions=True)


async def the_case_posted(app: App) -> bool:
    return (await the_case(app)).staff_post is not None
