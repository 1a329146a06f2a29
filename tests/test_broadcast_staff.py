"""The staff dialog: compose, preview, send or schedule, progress, cancel — and nobody else."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.app import App, build_app
from bot.delivery import DeliveryResult, Outcome
from bot.engine.events import Reply
from bot.services.broadcast import live
from bot.services.broadcast.schedule import parse_kyiv_time, release_due
from handlers.conversation import Conversation
from storage.models import AuditEntry
from storage.models.broadcast import Announcement
from tests.broadcast_support import (
    FakePlatform,
    RunningWorker,
    add_people,
    announcement,
    remaining,
    wait_until,
)
from tests.conftest import Clock, make_settings, onboard

STAFF = "900"


@pytest.fixture
async def staff_app(sqlite_url: str, clock: Clock) -> AsyncIterator[App]:
    app = await build_app(
        make_settings(sqlite_url, staff_ids=f"telegram:{STAFF}"), migrate=False, clock=clock
    )
    yield app
    await app.close()


async def staff_chat(app: App, language: str = "en") -> Conversation:
    chat = Conversation(app.engine, user_id=STAFF, platform="telegram")
    await onboard(chat, language)
    return chat


async def citizens(app: App) -> None:
    # Seen a week ago (outside Viber's free window), except two Viber people seen just now.
    week_ago = datetime(2026, 11, 17, tzinfo=UTC)
    await add_people(app, 3, first=1, locale="uk", last_seen=week_ago)
    await add_people(app, 2, first=10, locale="en", last_seen=week_ago)
    await add_people(app, 4, platform="viber", first=100, last_seen=week_ago)
    await add_people(app, 2, platform="viber", first=200, last_seen=app.runtime.now())


async def compose(chat: Conversation, uk: str | None, en: str | None) -> None:
    await chat.presses("Staff")
    await chat.presses("New announcement")
    chat.expect("in Ukrainian")
    await (chat.says(uk) if uk else chat.presses("Skip"))
    chat.expect("in English")
    await (chat.says(en) if en else chat.presses("Skip"))


async def test_staff_compose_preview_send_follow_and_report(staff_app: App) -> None:
    await citizens(staff_app)
    chat = await staff_chat(staff_app)
    await compose(chat, "Виплати 5 грудня.", "Payments on 5 December.")
    chat.expect("Who should receive it")
    await chat.presses("Everyone")

    # The preview is the citizen's message itself, in each language.
    uk_reply, en_reply = chat.last[1], chat.last[3]
    assert uk_reply.title == "📢 Оголошення"
    assert uk_reply.text.startswith("Виплати 5 грудня.")
    assert "Мої дані" in uk_reply.text
    assert (en_reply.title, en_reply.text.split("\n")[0]) == (
        "📢 Announcement",
        "Payments on 5 December.",
    )
    chat.expect(
        r"12 people — Telegram: 6, Viber: 6",  # 5 citizens + the staff member on Telegram
        r"Viber: 2 free .*, 4 paid, about €0\.08",
        buttons=["Send now", "Send later"],
    )
    await chat.presses("Send now")
    chat.expect("Sending has started", "Announcement #1: sending", "Remaining: 12")

    telegram = FakePlatform("telegram")
    viber = FakePlatform("viber", max_batch=300)
    staff_app.messengers.add(telegram)
    staff_app.messengers.add(viber)
    async with RunningWorker(staff_app):
        await wait_until(
            lambda: telegram.received.get(STAFF, [None]) and len(telegram.received[STAFF]) == 2
        )
    assert telegram.received["1"][0].startswith("📢 Оголошення\n\nВиплати 5 грудня.")
    assert telegram.received["10"][0].startswith("📢 Announcement\n\nPayments on 5 December.")
    assert viber.sends == 6
    report = telegram.received[STAFF][1]
    assert "Announcement #1: delivery finished" in report and "Delivered: 12" in report

    await chat.presses("Refresh")
    chat.expect("Announcement #1: finished", "Sent: 12 of 12")
    assert "Stop sending" not in chat.buttons
    async with staff_app.db.transaction() as session:
        entries = (await session.scalars(select(AuditEntry).order_by(AuditEntry.id))).all()
    queued = next(e for e in entries if e.action == "announcement.queued")
    assert queued.actor == f"telegram:{STAFF}"
    assert queued.details["text_en"] == "Payments on 5 December."
    assert queued.details["per_platform"] == {"telegram": 6, "viber": 6}
    delivered = next(e for e in entries if e.action == "announcement.delivered")
    assert (delivered.details["sent"], delivered.details["recipients"]) == (12, 12)


async def test_only_one_text_is_confirmed_and_everyone_gets_it(staff_app: App) -> None:
    await citizens(staff_app)
    chat = await staff_chat(staff_app)
    await compose(chat, "Центр закрито 1 грудня.", None)
    chat.expect("everyone will receive it in Ukrainian")
    await chat.presses("Yes, send it in")
    await chat.presses("Reading English")
    chat.expect(
        "People reading English will receive exactly this",
        "📢 Announcement\n\nЦентр закрито 1 грудня.\n\nTo stop announcements",
    )
    chat.expect_not("People reading Ukrainian")
    await chat.presses("Send now")
    async with staff_app.db.transaction() as session:
        (sent,) = (await session.scalars(select(Announcement))).all()
    assert (sent.audience, sent.recipients, sent.text_en) == ("lang:en", 3, "")


async def test_schedule_in_kyiv_time_then_cancel(staff_app: App, clock: Clock) -> None:
    await citizens(staff_app)
    chat = await staff_chat(staff_app)
    await compose(chat, "Текст", "Text")
    await chat.presses("Telegram")
    await chat.presses("Send later")
    await chat.says("24.11.2026 09:00")  # the past: the clock says 12:00 Kyiv
    chat.expect("has passed")
    await chat.says("не знаю")
    chat.expect("could not read")
    await chat.says("25.11.2026 09:30")
    chat.expect(r"Scheduled for 25 November 2026, 09:30", "scheduled for")
    scheduled = await announcement(staff_app, 1)
    assert scheduled.scheduled_at == datetime(2026, 11, 25, 7, 30, tzinfo=UTC)
    assert await remaining(staff_app, 1) == 0  # nobody is queued before its time

    await chat.presses("Stop sending")
    await chat.presses("Yes, stop it")
    chat.expect("Stopped", "cancelled")
    clock.advance(days=2)
    assert await sweep(staff_app) == 0  # a cancelled announcement is never released


async def test_a_scheduled_announcement_is_released_once_when_due(
    staff_app: App, clock: Clock
) -> None:
    await citizens(staff_app)
    chat = await staff_chat(staff_app)
    await compose(chat, "Текст", "Text")
    await chat.presses("Everyone")
    await chat.presses("Send later")
    await chat.says("2026-11-24 13:00")
    assert await sweep(staff_app) == 0
    clock.advance(hours=2)
    assert await sweep(staff_app) == 1
    assert await sweep(staff_app) == 0, "releasing is idempotent"
    assert await remaining(staff_app, 1) == 12


async def test_live_progress_is_one_message_edited_at_most_every_few_seconds(
    staff_app: App, clock: Clock
) -> None:
    await citizens(staff_app)
    chat = await staff_chat(staff_app)
    await compose(chat, "Текст", "Text")
    await chat.presses("Everyone")
    await chat.presses("Send now")

    editable = EditablePlatform("telegram", clock)
    staff_app.messengers.add(editable)
    staff_app.messengers.add(FakePlatform("viber", max_batch=300))
    assert await tick(staff_app) == 1
    clock.advance(seconds=2)
    assert await tick(staff_app) == 0, "too soon to edit again"
    clock.advance(seconds=4)
    assert await tick(staff_app) == 1
    async with RunningWorker(staff_app):
        await wait_until(lambda: editable.sends >= 7)
        await wait_until(lambda: _done(staff_app))
    assert await tick(staff_app) == 1  # the final numbers, at once
    assert await tick(staff_app) == 0
    assert len(editable.editable) == 1
    assert [when for when, _ in editable.edits] == [
        datetime(2026, 11, 24, 10, 0, 6, tzinfo=UTC),
        datetime(2026, 11, 24, 10, 0, 6, tzinfo=UTC),
    ]
    assert "finished" in editable.edits[-1][1] and "Sent: 12 of 12" in editable.edits[-1][1]


async def _done(app: App) -> bool:
    return (await announcement(app, 1)).state == "done"


class EditablePlatform(FakePlatform):
    """A platform whose messages can be edited (like Telegram's editMessageText)."""

    def __init__(self, platform: str, clock: Clock) -> None:
        super().__init__(platform)
        self.clock = clock
        self.editable: list[str] = []
        self.edits: list[tuple[datetime, str]] = []

    async def send_editable(self, user_id: str, reply: Reply) -> str | None:
        self.editable.append(reply.text)
        return "m1"

    async def edit(self, user_id: str, ref: str, reply: Reply) -> DeliveryResult:
        assert ref == "m1"
        self.edits.append((self.clock(), reply.text))
        return DeliveryResult(Outcome.SENT)


STAFF_ATTEMPTS = [
    ("says", "/staff"),
    ("says", "Staff"),
    ("says", "🛠 Staff"),
    ("presses", "m:staff"),
    ("presses", "new"),
    ("presses", "send"),
    ("presses", "a:all"),
    ("presses", "cancel"),
    ("presses", "g:back"),
]


async def test_nobody_else_reaches_any_staff_step(staff_app: App) -> None:
    citizen = Conversation(staff_app.engine, user_id="77", platform="telegram")
    await onboard(citizen, "en")
    assert not any("Staff" in label for label in citizen.buttons)
    for how, what in STAFF_ATTEMPTS:
        await (citizen.says(what) if how == "says" else citizen.presses_payload(what))
        citizen.expect_not("announcement", "Who should receive", "Staff")
    viber_citizen = Conversation(staff_app.engine, user_id=STAFF, platform="viber")
    await onboard(viber_citizen, "en")  # the staff id, but on another platform
    await viber_citizen.presses_payload("m:staff")
    viber_citizen.expect_not("announcement")
    async with staff_app.db.transaction() as session:
        assert not (await session.scalars(select(Announcement))).all()


async def test_staff_removed_from_staff_ids_mid_dialog_is_taken_out(
    sqlite_url: str, clock: Clock
) -> None:
    app = await build_app(
        make_settings(sqlite_url, staff_ids=f"telegram:{STAFF}"), migrate=False, clock=clock
    )
    chat = await staff_chat(app)
    await chat.presses("Staff")
    await chat.presses("New announcement")
    await app.close()
    demoted = await build_app(make_settings(sqlite_url), migrate=False, clock=clock)
    chat.engine = demoted.engine
    await chat.says("Секретний текст")
    chat.expect("Main menu")
    chat.expect_not("in English")
    await demoted.close()


async def test_who_stops_announcements_in_my_data_is_in_no_audience(staff_app: App) -> None:
    await citizens(staff_app)
    citizen = Conversation(staff_app.engine, user_id="1", platform="telegram")
    await citizen.says("/start")
    await citizen.presses("Мої дані")
    await citizen.presses("Не надсилати оголошення")
    await citizen.presses("Так, вимкнути")  # confirmed: a stray press changes nothing
    chat = await staff_chat(staff_app)
    await compose(chat, "Текст", "Text")
    await chat.presses("Telegram")
    chat.expect(r"5 people — Telegram: 5")


def test_kyiv_times_are_read_in_the_usual_ways() -> None:
    now = datetime(2026, 11, 24, 10, tzinfo=UTC)
    expected = datetime(2026, 12, 25, 8, 0, tzinfo=UTC)
    for text in ("25.12.2026 10:00", "25.12 10:00", "2026-12-25 10:00", "25.12.2026 10.00"):
        parsed = parse_kyiv_time(text, now)
        assert parsed is not None and parsed.astimezone(UTC) == expected, text
    assert parse_kyiv_time("01.01 09:00", now) == parse_kyiv_time("01.01.2027 09:00", now)
    for text in ("31.02.2026 10:00", "завтра", "25.12.2026", "25.12.2026 25:00"):
        assert parse_kyiv_time(text, now) is None, text


async def sweep(app: App) -> int:
    """What the announcements service does every second: release what is due."""
    return await release_due(app.db, app.runtime.now(), default_locale=app.settings.default_locale)


async def tick(app: App) -> int:
    return await live.tick(app.db, app.messengers, app.settings, app.runtime.now())


async def test_sending_now_wakes_the_worker_without_waiting_for_its_poll(
    staff_app: App,
) -> None:
    """The dialog's commit wakes the worker: nobody calls wake, and no poll is due for a minute."""
    await citizens(staff_app)
    telegram, viber = FakePlatform("telegram"), FakePlatform("viber", max_batch=300)
    staff_app.messengers.add(telegram)
    staff_app.messengers.add(viber)
    chat = await staff_chat(staff_app)
    await compose(chat, "Текст", "Text")
    await chat.presses("Everyone")
    async with RunningWorker(staff_app, poll_seconds=60) as worker:
        await worker.idle()  # looked once, found nothing: now it waits up to a minute
        await chat.presses("Send now")

        async def all_sent() -> bool:
            return await remaining(staff_app, 1) == 0

        await wait_until(all_sent, limit=10)
    assert telegram.sends >= 5 and viber.sends >= 1
