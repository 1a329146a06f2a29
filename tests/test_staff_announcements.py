"""Staff announcements: times that make sense, night sends, a Back that does not loop,
and a delivery log that matches the preview (issue #13, items 16 and 18)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.app import App, build_app
from handlers.conversation import Conversation
from handlers.demo_delivery import TranscriptMessenger
from tests.broadcast_support import RunningWorker, add_people, announcement, wait_until
from tests.conftest import Clock, make_settings, onboard

STAFF = "900"


async def staff_chat(app: App) -> Conversation:
    chat = Conversation(app.engine, user_id=STAFF, platform="telegram")
    await onboard(chat, "en")
    await chat.presses("Staff")
    await chat.presses("New announcement")
    await chat.says("Виплати 5 грудня.")
    await chat.says("Payments on 5 December.")
    return chat


async def started(sqlite_url: str, clock: Clock, **settings: object) -> App:
    app = await build_app(
        make_settings(sqlite_url, staff_ids=f"telegram:{STAFF}", **settings),
        migrate=False,
        clock=clock,
    )
    await add_people(app, 2)
    return app


async def test_a_time_over_a_year_ahead_is_refused(sqlite_url: str, clock: Clock) -> None:
    app = await started(sqlite_url, clock)
    try:
        chat = await staff_chat(app)
        await chat.presses("Everyone")
        await chat.presses("Send later")
        await chat.says("25.12.2027 10:00")
        chat.expect("more than a year ahead")
        await chat.says("25.12.2026 10:00")
        chat.expect("Scheduled for 25 December 2026, 10:00")
    finally:
        await app.close()


async def test_send_now_at_night_warns_and_offers_eight_in_the_morning(
    sqlite_url: str, clock: Clock
) -> None:
    clock.current = datetime(2026, 11, 24, 21, 30, tzinfo=UTC)  # 23:30 in Kyiv
    app = await started(sqlite_url, clock)
    try:
        chat = await staff_chat(app)
        await chat.presses("Everyone")
        await chat.presses("Send now")
        chat.expect("night in Ukraine", "25 November 2026, 08:00", buttons=["Send at 08:00"])
        await chat.presses("Send at 08:00")
        chat.expect("Scheduled for 25 November 2026, 08:00")
        scheduled = await announcement(app, 1)
        assert scheduled.scheduled_at == datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
    finally:
        await app.close()


async def test_back_from_a_stopped_announcement_does_not_ask_again(
    sqlite_url: str, clock: Clock
) -> None:
    app = await started(sqlite_url, clock)
    try:
        chat = await staff_chat(app)
        await chat.presses("Everyone")
        await chat.presses("Send later")
        await chat.says("25.11.2026 09:30")
        await chat.presses("Stop sending")
        await chat.presses("Yes, stop it")
        chat.expect("Stopped")
        await chat.presses("Back")
        chat.expect_not("Stop this announcement")
        chat.expect("Announcements reach", buttons=["New announcement"])
    finally:
        await app.close()


async def test_the_delivery_log_holds_exactly_what_the_preview_showed(
    sqlite_url: str, clock: Clock, tmp_path: Path
) -> None:
    app = await started(sqlite_url, clock)
    log = tmp_path / "deliveries.log"
    try:
        chat = await staff_chat(app)
        await chat.presses("Everyone")
        preview = chat.last[1].full_text()  # what people reading Ukrainian receive
        assert preview.startswith("📢 Оголошення") and "Мої дані" in preview
        await chat.presses("Send now")
        app.messengers.add(TranscriptMessenger("telegram", log))
        async with RunningWorker(app):
            await wait_until(lambda: log.exists() and log.read_text().count("\n") >= 2)
        line = next(x for x in log.read_text().splitlines() if x.startswith("telegram\t1\t"))
        assert line.split("\t", 2)[2].replace("\\n", "\n") == preview
    finally:
        await app.close()
