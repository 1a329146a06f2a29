"""The real aiogram Bot and Dispatcher, our adapter and the engine, against the Bot API double."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import ClientSession

from handlers.telegram import adapter as adapter_module
from handlers.telegram.messenger import RetryPolicy
from storage.repositories import People
from tests.doubles.telegram_api import TelegramApiDouble
from tests.telegram_support import (
    WAIT,
    WEBHOOK_SECRET,
    Person,
    RunningBot,
    aiogram_requests,
    running_bot,
)


@pytest.fixture
async def telegram_api() -> AsyncIterator[TelegramApiDouble]:
    double = await TelegramApiDouble().start()
    yield double
    await double.stop()


@pytest.fixture
async def polling_bot(
    sqlite_url: str, telegram_api: TelegramApiDouble, clock: Any
) -> AsyncIterator[RunningBot]:
    async with running_bot(sqlite_url, telegram_api, clock) as bot:
        yield bot


def no_error_answers(double: TelegramApiDouble) -> None:
    errors = [(c.method, c.status) for c in double.calls if c.status != 200]
    assert not errors, errors


async def onboard(person: Person, language: str) -> None:
    await person.says("/start")
    await person.presses("English" if language == "en" else "Українська")
    await person.presses("I agree" if language == "en" else "Погоджуюся")


async def reachable(bot: RunningBot, user_id: int) -> bool:
    async with bot.app.db.transaction() as session:
        person = await People(session).find("telegram", str(user_id))
        assert person is not None
        return person.reachable


# -- whole conversations -------------------------------------------------------------------------
async def test_whole_conversation_in_ukrainian_through_polling(
    db_url: str, telegram_api: TelegramApiDouble, clock: Any
) -> None:
    async with running_bot(db_url, telegram_api, clock) as bot:
        olena = bot.person(101, language_code="uk")
        await olena.says("/start")
        olena.expect("Оберіть мову", buttons=("Українська", "English"))
        await olena.presses("Українська")
        olena.expect("Що я зберігаю", buttons=("Погоджуюся",))
        await olena.presses("Погоджуюся")
        olena.expect("Головне меню", buttons=("Контакти",))
        await olena.presses("Контакти")
        olena.expect("1545", "0 800 503 753")
        contacts = olena.last[-1]
        assert any(b.get("url") == "https://diia.gov.ua" for b in contacts.buttons)
        await olena.says("меню")
        olena.expect("Головне меню")
    # Every button press was answered (the spinner stopped) and Telegram refused nothing.
    assert set(olena.tg.queries) <= telegram_api.answered_queries
    assert len(telegram_api.calls_of("answerCallbackQuery")) == 3
    no_error_answers(telegram_api)
    assert all(m.html.count("<b>") == m.html.count("</b>") for m in telegram_api.sent)


async def test_whole_conversation_in_english_through_the_webhook(
    sqlite_url: str, telegram_api: TelegramApiDouble, clock: Any
) -> None:
    async with running_bot(sqlite_url, telegram_api, clock, mode="webhook") as bot:
        assert telegram_api.webhook_url == bot.webhook_url
        assert telegram_api.webhook_secret == WEBHOOK_SECRET
        [set_webhook] = telegram_api.calls_of("setWebhook")
        assert set(set_webhook.params["allowed_updates"]) == {"message", "callback_query"}
        # Answered only after the commit: as many requests at once as Telegram allows.
        assert telegram_api.webhook_max_connections == 100
        john = bot.person(202, language_code="en-GB")
        await john.says("/start")
        assert john.buttons[:2] == ["🇺🇦 Українська", "🇬🇧 English"]  # always this order
        await john.presses("English")
        john.expect("What I store", buttons=("I agree",))
        await john.presses("I agree")
        john.expect("Main menu", buttons=("Contacts",))
        await john.presses("Contacts")
        john.expect("1545", "Contacts & hotlines")
    assert not telegram_api.calls_of("getUpdates")
    assert all(status == 200 for _, status in telegram_api.webhook_deliveries)
    no_error_answers(telegram_api)
    # Each press's spinner was stopped by the webhook's answer, not by a request.
    answers = telegram_api.calls_of("answerCallbackQuery")
    assert set(john.tg.queries) <= telegram_api.answered_queries
    assert len(answers) == 3 and all(call.in_webhook_answer for call in answers)


async def test_a_slow_commit_stops_the_spinner_by_a_request_once(
    sqlite_url: str, telegram_api: TelegramApiDouble, clock: Any, monkeypatch: Any
) -> None:
    """Not left spinning until the webhook's answer: a request stops it, and the
    webhook's answer does not answer the query a second time."""
    monkeypatch.setattr(adapter_module, "ANSWER_IN_RESPONSE_WITHIN", 0)
    async with running_bot(sqlite_url, telegram_api, clock, mode="webhook") as bot:
        john = bot.person(203, language_code="en")
        await onboard(john, "en")
        await john.presses("Contacts")
        john.expect("1545")
    answers = telegram_api.calls_of("answerCallbackQuery")
    assert set(john.tg.queries) <= telegram_api.answered_queries
    assert len(answers) == 3 and not any(call.in_webhook_answer for call in answers)
    no_error_answers(telegram_api)


async def test_webhook_refuses_a_request_without_the_right_secret(
    sqlite_url: str, telegram_api: TelegramApiDouble, clock: Any
) -> None:
    async with running_bot(sqlite_url, telegram_api, clock, mode="webhook") as bot:
        person = telegram_api.user(303)
        telegram_api.webhook_attempts = 1
        update_id = await person.says("/start")
        await bot.handled(update_id)
        answered = len(person.received)
        assert answered == 1
        assert await telegram_api.post_webhook(update_id, secret="wrong") == 401
        assert await telegram_api.post_webhook(update_id, secret="") == 401
        headers = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
        async with (
            ClientSession() as client,
            client.post(bot.webhook_url, data=b"not json", headers=headers) as response,
        ):
            assert response.status == 400
    assert len(person.received) == answered


async def test_duplicate_webhook_update_is_handled_once(
    db_url: str, telegram_api: TelegramApiDouble, clock: Any
) -> None:
    async with running_bot(db_url, telegram_api, clock, mode="webhook") as bot:
        person = bot.person(404, language_code="en")
        await onboard(person, "en")
        before = len(person.tg.received)
        update_id = await person.tg.says("/help")
        await bot.handled(update_id)
        # Telegram resends when it missed our 200; both copies may even arrive together.
        await asyncio.gather(
            telegram_api.post_webhook(update_id), telegram_api.post_webhook(update_id)
        )
        await bot.handled(update_id, times=3)
        assert [m.text.split("\n")[0] for m in person.tg.received_since(before)] == ["Help"]


# -- what people send ----------------------------------------------------------------------
async def test_typed_markup_is_echoed_safely_and_a_long_answer_is_split(
    polling_bot: RunningBot,
) -> None:
    person = polling_bot.person(505, language_code="en")
    await onboard(person, "en")
    await person.enter_echo()
    typed = "<b>bold</b> & <script>alert('x')</script> 1 < 2 > 0 &amp;"
    await person.says(typed)
    assert person.last[0].text == f"You said: {typed}"
    await person.says("long")
    assert len(person.last) >= 3
    assert all(len(m.text) <= 4096 for m in person.last)
    assert sum(len(m.text) for m in person.last) > 10_000
    assert all(m.text[0].isdigit() for m in person.last)  # each piece starts a paragraph
    no_error_answers(polling_bot.double)


async def test_phone_is_asked_with_a_share_keyboard_and_someone_elses_contact_is_refused(
    polling_bot: RunningBot,
) -> None:
    person = polling_bot.person(606, language_code="uk")
    await onboard(person, "uk")
    await person.enter_echo()
    await person.says("hello")
    await person.presses("Phone")
    [ask] = person.last
    assert ask.keyboard[0] == {"text": "📱 Share", "request_contact": True}
    assert "☰" in ask.keyboard[-1]["text"]  # Menu is there too, as a typed label
    await person.shares_contact("+380501234567", owner_id=999)
    refusal, again = person.last
    assert "чужий контакт" in refusal.text
    assert again.text.startswith("Share your phone") and again.keyboard  # asked again
    await person.shares_contact("+380501234567")
    assert person.last[0].text == "Got +380501234567."
    assert person.last[0].removes_keyboard  # the share keyboard goes away
    assert person.last[-1].button_labels == ["Phone"]
    no_error_answers(polling_bot.double)


async def test_a_sticker_gets_a_polite_answer(polling_bot: RunningBot) -> None:
    person = polling_bot.person(707, language_code="en")
    await onboard(person, "en")
    await person.sends_sticker()
    person.expect("I understand text and buttons only", "Main menu")


async def test_group_chat_is_told_once_to_write_privately(polling_bot: RunningBot) -> None:
    person = polling_bot.person(808, language_code="uk")
    first = await person.says_in_group(-100500, "/start")
    assert len(first) == 1
    assert "приватному чаті" in first[0].text and "@poruch_test_bot" in first[0].text
    assert await person.says_in_group(-100500, "привіт") == []
    async with polling_bot.app.db.transaction() as session:
        assert await People(session).count() == 0  # no dialog, nobody registered


# -- faults --------------------------------------------------------------------------------
async def test_flood_control_waits_retry_after_then_sends(polling_bot: RunningBot) -> None:
    double = polling_bot.double
    double.flood("sendMessage", retry_after=1)
    person = polling_bot.person(909)
    await person.says("/start")
    person.expect("Оберіть мову")
    refused, accepted = double.calls_of("sendMessage")
    assert (refused.status, accepted.status) == (429, 200)
    assert accepted.at - refused.at >= 1.0
    assert 'poruch_send_errors_total{code="429",platform="telegram"} 1.0' in metrics(polling_bot)


async def test_a_flood_wait_longer_than_the_cap_is_not_waited_for(
    polling_bot: RunningBot,
) -> None:
    polling_bot.double.flood("sendMessage", retry_after=61)  # the cap is 60 s
    person = polling_bot.person(1002)
    assert await person.says("/start") == []  # dropped at once, not sent a minute late
    assert [c.status for c in polling_bot.double.calls_of("sendMessage")] == [429]
    assert 'poruch_send_errors_total{code="429",platform="telegram"} 1.0' in metrics(polling_bot)


async def test_server_errors_are_retried_with_backoff(polling_bot: RunningBot) -> None:
    polling_bot.adapter.messenger.retry = RetryPolicy(backoff=0.05)
    polling_bot.double.fail("sendMessage", 502, "Bad Gateway", times=2)
    person = polling_bot.person(1001)
    await person.says("/start")
    person.expect("Оберіть мову")
    assert [c.status for c in polling_bot.double.calls_of("sendMessage")] == [502, 502, 200]


async def test_blocked_person_is_unreachable_until_they_write_again(
    polling_bot: RunningBot,
) -> None:
    person = polling_bot.person(1101, language_code="en")
    await onboard(person, "en")
    polling_bot.double.block(1101)
    assert await person.says("/menu") == []
    assert not await reachable(polling_bot, 1101)
    polling_bot.double.unblock(1101)
    await person.says("/menu")
    person.expect("Main menu")
    assert await reachable(polling_bot, 1101)
    assert 'poruch_send_errors_total{code="403",platform="telegram"} 1.0' in metrics(polling_bot)


async def test_a_slow_answer_to_one_person_does_not_hold_up_another(
    polling_bot: RunningBot,
) -> None:
    double = polling_bot.double
    slow, quick = polling_bot.person(1201), polling_bot.person(1202)
    hold = double.hold("sendMessage", 1201)
    slow_update = await slow.tg.says("/start")
    async with asyncio.timeout(WAIT):
        await hold.reached.wait()
    await quick.says("/start")
    quick.expect("Оберіть мову")
    assert slow.tg.received == []
    hold.released.set()
    await polling_bot.handled(slow_update)
    assert len(slow.tg.received) == 1


async def test_commands_are_registered_in_both_languages(polling_bot: RunningBot) -> None:
    commands = polling_bot.double.commands
    await polling_bot.double.wait_until(lambda: len(commands) == 3)  # registered in background
    assert set(commands) == {"uk", "en", ""}
    assert {c["command"] for c in commands["en"]} == {
        "start",
        "menu",
        "language",
        "help",
        "cancel",
    }
    assert commands["en"][1]["description"] == "Main menu"
    assert commands["uk"][1]["description"] == "Головне меню"
    assert commands[""] == commands["uk"]  # DEFAULT_LOCALE for every other language


async def test_set_my_commands_failure_is_not_fatal(
    sqlite_url: str, telegram_api: TelegramApiDouble, clock: Any
) -> None:
    telegram_api.fail("setMyCommands", 400, "Bad Request: BOT_COMMAND_INVALID", times=3)
    async with running_bot(sqlite_url, telegram_api, clock) as bot:
        person = bot.person(1301)
        await person.says("/start")
        person.expect("Оберіть мову")
        await telegram_api.wait_until(lambda: len(telegram_api.calls_of("setMyCommands")) == 3)
    assert [c.status for c in telegram_api.calls_of("setMyCommands")] == [400, 400, 400]
    assert telegram_api.commands == {}


async def test_polling_stops_cleanly_when_its_job_is_cancelled(
    sqlite_url: str, telegram_api: TelegramApiDouble, clock: Any
) -> None:
    async with running_bot(sqlite_url, telegram_api, clock) as bot:
        task = bot.task
        await bot.person(1401).says("/start")
        task.cancel()
        async with asyncio.timeout(WAIT):
            await asyncio.gather(task, return_exceptions=True)
        assert task.cancelled()
        calls = len(telegram_api.calls_of("getUpdates"))
        await asyncio.sleep(0.5)  # a polling loop left behind would keep asking
        assert len(telegram_api.calls_of("getUpdates")) == calls


def metrics(bot: RunningBot) -> str:
    return bot.app.metrics.render().decode()


async def test_closing_does_not_wait_for_the_resend_watch(
    db_url: str, telegram_api: TelegramApiDouble, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL the watch for replies a crashed worker left unsent never ends by
    itself: closing must stop it, not wait the whole drain time for it."""
    from handlers.telegram import adapter as adapter_module

    monkeypatch.setattr(adapter_module, "DRAIN_TIMEOUT", 600.0)
    async with running_bot(db_url, telegram_api, clock) as bot:
        await bot.person(1402).says("/start")
        async with asyncio.timeout(WAIT):
            await bot.adapter.close()


# -- the lean path: no aiogram models, Dispatcher or request path per update ------------------
def refuse(*_: Any, **__: Any) -> Any:
    raise AssertionError("aiogram's per-update machinery was used")


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_updates_and_answers_skip_aiogrammed_models_and_dispatcher(
    sqlite_url: str,
    telegram_api: TelegramApiDouble,
    clock: Any,
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
) -> None:
    from aiogram import Dispatcher
    from aiogram.types import Update

    made = aiogram_requests(monkeypatch)
    monkeypatch.setattr(Update, "model_validate", refuse)
    monkeypatch.setattr(Dispatcher, "feed_update", refuse)
    async with running_bot(sqlite_url, telegram_api, clock, mode=mode) as bot:
        person = bot.person(1501, language_code="en")
        await onboard(person, "en")
        person.expect("Main menu")
        await person.sends_sticker()
        person.expect("I understand text and buttons only")
        [notice] = await person.says_in_group(-100600, "/start")
        assert "@poruch_test_bot" in notice.text
    assert set(person.tg.queries) <= telegram_api.answered_queries
    no_error_answers(telegram_api)
    # aiogram itself only for the calls off the hot path (the menu, getMe, the webhook).
    assert set(made) <= {"deleteWebhook", "setWebhook", "setMyCommands", "getMe"}


async def test_flood_control_and_a_block_on_the_lean_path(
    polling_bot: RunningBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = aiogram_requests(monkeypatch)
    double = polling_bot.double
    double.flood("sendMessage", retry_after=1)
    person = polling_bot.person(1601, language_code="en")
    await person.says("/start")
    person.expect("Please choose your language")
    refused, accepted = double.calls_of("sendMessage")
    assert (refused.status, accepted.status) == (429, 200)
    assert accepted.at - refused.at >= 1.0  # retry_after honoured
    await person.presses("English")
    double.block(1601)
    assert await person.presses("I agree") == []
    assert not await reachable(polling_bot, 1601)
    rendered = metrics(polling_bot)
    assert 'poruch_send_errors_total{code="429",platform="telegram"} 1.0' in rendered
    assert 'poruch_send_errors_total{code="403",platform="telegram"} 1.0' in rendered
    assert not set(made) & {"sendMessage", "answerCallbackQuery", "editMessageReplyMarkup"}


async def test_an_update_that_is_not_one_neither_stops_polling_nor_is_answered(
    polling_bot: RunningBot,
) -> None:
    double = polling_bot.double
    person = polling_bot.person(1701)
    broken = await double.push({"message": {"message_id": 1, "chat": {"id": 1701}}})
    await person.says("/start")
    person.expect("Оберіть мову")
    assert [m.text for m in person.tg.received] == [person.last[0].text]
    # Confirmed with the rest: Telegram does not send it again.
    await double.wait_until(
        lambda: any(int(c.params.get("offset", 0)) > broken for c in double.calls_of("getUpdates"))
    )


async def test_webhook_refuses_a_body_that_is_not_an_update(
    sqlite_url: str, telegram_api: TelegramApiDouble, clock: Any
) -> None:
    async with running_bot(sqlite_url, telegram_api, clock, mode="webhook") as bot:
        headers = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
        bodies = [
            [],
            {"message": {}},
            {"update_id": "7"},
            {"update_id": 7, "message": {"message_id": 1, "date": 1, "chat": {"id": 5}}},
            {"update_id": 8, "callback_query": {"id": "1", "chat_instance": "c", "data": "x"}},
        ]
        async with ClientSession() as client:
            for body in bodies:
                async with client.post(bot.webhook_url, json=body, headers=headers) as response:
                    assert response.status == 400, body
        assert telegram_api.sent == []
