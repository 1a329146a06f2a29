"""The Telegram messenger the outbox sends through: one attempt, errors mapped to outcomes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.delivery.messenger import Outcome
from bot.engine import Button, Link, Reply, Request
from bot.metrics import Metrics
from handlers.telegram.messenger import RetryPolicy, TelegramMessenger
from tests.doubles.telegram_api import TelegramApiDouble
from tests.telegram_support import aiogram_requests, free_port


@pytest.fixture
async def telegram_api() -> AsyncIterator[TelegramApiDouble]:
    double = await TelegramApiDouble().start()
    yield double
    await double.stop()


def make_bot(base: str, token: str) -> Bot:
    return Bot(token=token, session=AiohttpSession(api=TelegramAPIServer.from_base(base)))


@pytest.fixture
async def messenger(telegram_api: TelegramApiDouble) -> AsyncIterator[TelegramMessenger]:
    bot = make_bot(telegram_api.base_url, telegram_api.token)
    yield TelegramMessenger(bot, Metrics())
    await bot.session.close()


async def test_deliver_maps_every_answer_to_an_outcome(
    telegram_api: TelegramApiDouble, messenger: TelegramMessenger
) -> None:
    for chat_id in (1, 2, 3, 4):
        telegram_api.user(chat_id)
    telegram_api.block(2)
    telegram_api.flood("sendMessage", retry_after=7)
    results = {}
    results["flood"] = await messenger.deliver("1", [Reply(text="Hi")])
    results["sent"] = await messenger.deliver("1", [Reply(text="Hi <there> & you")])
    results["blocked"] = await messenger.deliver("2", [Reply(text="Hi")])
    telegram_api.fail("sendMessage", 503, "Service Unavailable")
    results["5xx"] = await messenger.deliver("3", [Reply(text="Hi")])
    results["unknown"] = await messenger.deliver("999", [Reply(text="Hi")])
    assert {name: r.outcome for name, r in results.items()} == {
        "flood": Outcome.RATE_LIMITED,
        "sent": Outcome.SENT,
        "blocked": Outcome.BLOCKED,
        "5xx": Outcome.TRANSIENT,
        "unknown": Outcome.FAILED,
    }
    assert results["flood"].retry_after == 7
    assert results["blocked"].reason.startswith("403")
    assert "chat not found" in results["unknown"].reason
    # The outbox keeps its own schedule: one attempt per delivery, no waiting here.
    assert len(telegram_api.calls_of("sendMessage")) == 5
    assert telegram_api.sent_to(1)[0].text == "Hi <there> & you"
    rendered = messenger.metrics.render().decode()
    assert 'poruch_send_errors_total{code="5xx",platform="telegram"} 1.0' in rendered
    assert 'poruch_sends_total{platform="telegram",result="blocked"} 1.0' in rendered


async def test_deliver_many_loops_one_by_one(
    telegram_api: TelegramApiDouble, messenger: TelegramMessenger
) -> None:
    telegram_api.user(10)
    telegram_api.user(11)
    telegram_api.block(11)
    assert messenger.max_batch == 1
    results = await messenger.deliver_many(["10", "11"], Reply(text="Announcement"))
    assert {k: r.outcome for k, r in results.items()} == {
        "10": Outcome.SENT,
        "11": Outcome.BLOCKED,
    }


async def test_unreachable_api_is_transient() -> None:
    bot = make_bot(f"http://127.0.0.1:{free_port()}", "4242:TEST-token")
    try:
        result = await TelegramMessenger(bot, Metrics()).deliver("1", [Reply(text="Hi")])
    finally:
        await bot.session.close()
    assert result.outcome is Outcome.TRANSIENT
    assert result.reason.startswith("network")


async def test_share_keyboard_is_taken_away_and_buttons_put_back(
    telegram_api: TelegramApiDouble, messenger: TelegramMessenger
) -> None:
    telegram_api.user(20)
    ask = Reply(text="Your phone?", request=Request.PHONE, request_label="📱 Share")
    question = Reply(text="Next?", buttons=((Button("Yes", "yes"),),))
    assert (await messenger.deliver("20", [ask])).ok
    assert (await messenger.deliver("20", [question])).ok
    first, second = telegram_api.sent_to(20)
    assert first.keyboard[0]["request_contact"] is True
    # Sent with the removal, then its inline buttons restored by an edit.
    [edit] = telegram_api.calls_of("editMessageReplyMarkup")
    assert edit.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "yes"
    assert second.button_labels == ["Yes"]
    assert (await messenger.deliver("20", [question])).ok
    assert telegram_api.sent_to(20)[-1].markup == second.markup  # nothing left to remove
    assert len(telegram_api.calls_of("editMessageReplyMarkup")) == 1


async def test_callback_data_over_64_bytes_never_leaves(
    telegram_api: TelegramApiDouble, messenger: TelegramMessenger
) -> None:
    telegram_api.user(30)
    too_long = Reply(text="x", buttons=((Button("b", "x" * 65),),))
    result = await messenger.deliver("30", [too_long])
    assert result.outcome is Outcome.FAILED and "64" in result.reason
    assert not telegram_api.calls_of("sendMessage")
    # And the double refuses it as Telegram does, should anything try.
    markup = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="b", callback_data="x" * 65)]]
    )
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await messenger.bot.send_message(chat_id=30, text="x", reply_markup=markup)


async def test_double_is_strict_about_html_and_length(
    telegram_api: TelegramApiDouble, messenger: TelegramMessenger
) -> None:
    telegram_api.user(40)
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await messenger.bot.send_message(chat_id=40, text="<b>open", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="too long"):
        await messenger.bot.send_message(chat_id=40, text="x" * 4097)
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await messenger.bot.send_message(chat_id=41, text="hi")
    long = "\n\n".join(["абзац " * 100] * 20)
    assert (await messenger.deliver("40", [Reply(text=long, title="Довго")])).ok
    assert len(telegram_api.sent_to(40)) >= 3


async def test_progress_message_is_sent_once_then_edited(
    telegram_api: TelegramApiDouble, messenger: TelegramMessenger
) -> None:
    from bot.services.broadcast.live import EditableMessenger

    assert isinstance(messenger, EditableMessenger)
    telegram_api.user(5)
    ref = await messenger.send_editable("5", Reply(text="Sent: 0 of 10"))
    assert ref is not None
    result = await messenger.edit("5", ref, Reply(text="Sent: 10 of 10 <done>"))
    unchanged = await messenger.edit("5", ref, Reply(text="Sent: 10 of 10 <done>"))
    assert (result.outcome, unchanged.outcome) == (Outcome.SENT, Outcome.SENT)
    [message] = telegram_api.sent_to(5)
    assert message.text == "Sent: 10 of 10 <done>"
    assert await messenger.edit("5", "999999", Reply(text="x")) != result


# -- the lean path: the hot calls as plain JSON (handlers/telegram/lean.py) -----------------
HOT_METHODS = {"sendMessage", "editMessageText", "editMessageReplyMarkup", "answerCallbackQuery"}


IDS = ("chat_id", "message_id", "callback_query_id")


def as_sent(params: dict[str, Any]) -> dict[str, Any]:
    # A form (aiogram) carries every number as text; JSON carries numbers.
    return {key: str(value) if isinstance(value, int) else value for key, value in params.items()}


async def test_hot_calls_go_as_json_with_what_aiogram_would_send(
    telegram_api: TelegramApiDouble,
    messenger: TelegramMessenger,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made = aiogram_requests(monkeypatch)
    plain = make_bot(telegram_api.base_url, telegram_api.token)
    through_aiogram = TelegramMessenger(plain, Metrics())
    through_aiogram.lean = False
    assert messenger.lean
    bodies: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    try:
        for name, sender, chat_id in (("lean", messenger, 50), ("aiogram", through_aiogram, 51)):
            person = telegram_api.user(chat_id)
            start = len(telegram_api.calls)
            ask = Reply(text="Phone?", request=Request.PHONE, request_label="📱 Share")
            question = Reply(
                text="Next <x> & y",
                title="Title",
                buttons=((Button("Yes", "yes"), Button("No", "no")),),
                links=(Link("Diia", "https://diia.gov.ua"),),
            )
            assert (await sender.deliver(str(chat_id), [ask])).ok
            assert (await sender.deliver(str(chat_id), [question])).ok  # removal, then edit
            ref = await sender.send_editable(str(chat_id), Reply(text="Sent: 0"))
            assert ref is not None
            edited = Reply(text="Sent: 1", buttons=((Button("Stop", "stop"),),))
            assert (await sender.edit(str(chat_id), ref, edited)).ok
            await person.presses_data("yes")
            await sender.answer_callback(person.queries[-1])
            assert person.queries[-1] in telegram_api.answered_queries
            calls = telegram_api.calls[start:]
            assert all(call.status == 200 for call in calls)  # the strict double took them
            bodies[name] = [(c.method, as_sent(c.params)) for c in calls]
            if name == "lean":
                assert made == []  # not one of them went through aiogram
    finally:
        await plain.session.close()
    assert set(made) == HOT_METHODS
    for (method, lean_body), (same, aiogram_body) in zip(
        bodies["lean"], bodies["aiogram"], strict=True
    ):
        assert method == same and set(lean_body) == set(aiogram_body)
        # Only the ids differ: another chat, other messages, another press.
        ids = {key: lean_body[key] for key in IDS if key in lean_body}
        assert lean_body == {**aiogram_body, **ids}
    assert [m for m, _ in bodies["lean"]] == [
        "sendMessage",
        "sendMessage",
        "editMessageReplyMarkup",
        "sendMessage",
        "editMessageText",
        "answerCallbackQuery",
    ]


async def test_lean_refusals_are_aiogrammed_into_the_same_outcomes(
    telegram_api: TelegramApiDouble,
    messenger: TelegramMessenger,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made = aiogram_requests(monkeypatch)
    for chat_id in (60, 61):
        telegram_api.user(chat_id)
    telegram_api.block(61)
    telegram_api.flood("sendMessage", retry_after=9)
    flood = await messenger.deliver("60", [Reply(text="Hi")])
    blocked = await messenger.deliver("61", [Reply(text="Hi")])
    unknown = await messenger.deliver("62", [Reply(text="Hi")])
    telegram_api.fail("sendMessage", 502, "Bad Gateway")
    server = await messenger.deliver("60", [Reply(text="Hi")])
    telegram_api.fail("sendMessage", 400, "Bad Request: can't parse entities: x")
    refused = await messenger.deliver("60", [Reply(text="Hi")])
    assert (flood.outcome, flood.retry_after) == (Outcome.RATE_LIMITED, 9.0)
    # aiogram's own words, naming the method and the chat as it does for its own calls
    assert flood.reason.startswith(
        "429: Flood control exceeded on method 'SendMessage' in chat 60"
    )
    assert (blocked.outcome, blocked.reason) == (
        Outcome.BLOCKED,
        "403: Forbidden: bot was blocked by the user",
    )
    assert (unknown.outcome, unknown.reason) == (
        Outcome.FAILED,
        "400: Bad Request: chat not found",
    )
    assert (server.outcome, server.reason) == (Outcome.TRANSIENT, "5xx: Bad Gateway")
    assert refused.outcome is Outcome.FAILED and "can't parse entities" in refused.reason
    assert made == []
    rendered = messenger.metrics.render().decode()
    for code in ("429", "403", "400", "5xx"):
        assert f'poruch_send_errors_total{{code="{code}",platform="telegram"}}' in rendered
    # An answer that is not the Bot API's is what aiogram says it is, not a crash.
    telegram_api.fail("sendMessage", 200, "not json at all")
    assert (await messenger.deliver("60", [Reply(text="Hi")])).outcome is Outcome.TRANSIENT


async def test_a_call_that_succeeds_at_once_never_enters_the_retry_machinery(
    telegram_api: TelegramApiDouble,
    messenger: TelegramMessenger,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot import retry as retry_module

    entered: list[int] = []
    original = retry_module.retrying

    def spy(**kwargs: Any) -> Any:
        entered.append(kwargs["attempts"])
        return original(**kwargs)

    monkeypatch.setattr(retry_module, "retrying", spy)
    telegram_api.user(70)
    question = Reply(text="Next?", buttons=((Button("Yes", "yes"),),))
    assert (await messenger.send(70, [question])).ok
    assert entered == []
    # The policy still holds as a whole: `attempts` calls in all, the first one included.
    for attempts in (1, 2, 4):
        before = len(telegram_api.calls_of("sendMessage"))
        telegram_api.fail("sendMessage", 502, "Bad Gateway", times=attempts)
        policy = RetryPolicy(attempts=attempts, backoff=0.001)
        result = await messenger.send(70, [question], retry=policy)
        assert result.outcome is Outcome.TRANSIENT
        assert len(telegram_api.calls_of("sendMessage")) - before == attempts
    # entered once per failed call, with its whole policy: the first failure is its first try
    assert entered == [1, 2, 4]
    telegram_api.fail("sendMessage", 502, "Bad Gateway", times=3)
    assert (await messenger.send(70, [question], retry=RetryPolicy(backoff=0.001))).ok
    rendered = messenger.metrics.render().decode()
    assert 'poruch_send_errors_total{code="5xx",platform="telegram"} 10.0' in rendered


async def test_aiogram_sends_whenever_plain_json_would_not_be_what_it_sends() -> None:
    from aiogram.client.default import DefaultBotProperties
    from aiogram.client.session.middlewares.request_logging import RequestLogging

    from handlers.telegram import lean

    api = TelegramAPIServer.from_base("http://127.0.0.1:9")
    plain = Bot(token="4242:TEST-token", session=AiohttpSession(api=api))
    defaults = Bot(
        token="4242:TEST-token",
        session=AiohttpSession(api=api),
        default=DefaultBotProperties(protect_content=True),
    )
    middleware = Bot(token="4242:TEST-token", session=AiohttpSession(api=api))
    middleware.session.middleware(RequestLogging())
    try:
        assert lean.usable(plain)
        assert not lean.usable(defaults)  # aiogram would add protect_content to every send
        assert not lean.usable(middleware)  # a request middleware must see every call
        assert not TelegramMessenger(defaults, Metrics()).lean
    finally:
        for bot in (plain, defaults, middleware):
            await bot.session.close()
