"""The staff console in a real browser: headless Chromium from Debian, driven by Selenium.

One-time sign-in, an announcement followed to 100 % while the Bot API test
double receives it, a CSV with a bad row, keyboard-only navigation, axe-core's
WCAG 2.1 AA check on every page, and a screenshot of each page (artefacts/console).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiohttp import web

from bot.app import App, build_app
from bot.server import build_web_app
from handlers.telegram.messenger import TelegramMessenger
from storage.models import Person
from storage.models.booking import Appointment
from tests.broadcast_support import RunningWorker, add_people
from tests.browser_support import Browser, driver  # noqa: F401  (the session fixture)
from tests.conftest import make_settings
from tests.console_support import STAFF, new_link
from tests.doubles.telegram_api import TelegramApiDouble
from tests.status_support import DEMO_ROWS, csv_text

pytestmark = pytest.mark.slow
PEOPLE = range(2001, 2006)


@pytest.fixture
async def telegram_api() -> AsyncIterator[TelegramApiDouble]:
    double = await TelegramApiDouble().start()
    yield double
    await double.stop()


@pytest.fixture
async def app(sqlite_url: str, telegram_api: TelegramApiDouble) -> AsyncIterator[App]:
    application = await build_app(
        make_settings(sqlite_url, staff_ids=STAFF, telegram_rate_limit=50), migrate=False
    )
    bot = Bot(
        token=telegram_api.token,
        session=AiohttpSession(api=TelegramAPIServer.from_base(telegram_api.base_url)),
    )
    application.messengers.add(TelegramMessenger(bot, application.metrics))
    yield application
    await bot.session.close()
    await application.close()


@pytest.fixture
async def browser(app: App, driver: Any) -> AsyncIterator[Browser]:  # noqa: F811
    runner = web.AppRunner(build_web_app(app), access_log=None, shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    yield Browser(driver, f"http://{host}:{port}")
    driver.delete_all_cookies()
    await runner.cleanup()


async def sign_in(browser: Browser, app: App) -> None:
    token = await new_link(app)
    await browser.open(f"/console/signin/{token}")
    await browser.click("#signin")
    await browser.wait_for(lambda: browser.driver.current_url.endswith("/console/dashboard"))


async def check_page(browser: Browser, name: str) -> None:
    await browser.screenshot(name)
    violations = await browser.axe()
    assert not violations, f"{name}: {violations}"


async def seed_appointments(app: App) -> str:
    from bot.services.booking.reminders import catalog_of

    catalog = catalog_of(app.runtime)
    office = next(iter(catalog.offices.values()))
    now = app.runtime.now()
    async with app.db.transaction() as session:
        for n, hours in enumerate((-2, -1, 3)):
            person = Person(platform="telegram", platform_user_id=f"9{n}", locale="uk")
            session.add(person)
            await session.flush()
            session.add(
                Appointment(
                    code=f"DFG{n}",
                    person_id=person.id,
                    office_id=office.id,
                    service_id=office.services[0],
                    starts_at=now + timedelta(hours=hours),
                    ends_at=now + timedelta(hours=hours, minutes=20),
                    state="booked",
                )
            )
    return office.id


async def test_sign_in_announce_to_100_percent_and_import_with_a_bad_row(
    app: App, browser: Browser, telegram_api: TelegramApiDouble, tmp_path: Path
) -> None:
    # A page without a session, and the sign-in page, are accessible too.
    await browser.open("/console/announcements")
    await check_page(browser, "00-sign-in-needed")
    token = await new_link(app)
    await browser.open(f"/console/signin/{token}")
    await check_page(browser, "01-sign-in")
    await browser.click("#signin")
    await browser.wait_for(lambda: browser.driver.current_url.endswith("/console/dashboard"))
    await browser.open("/console/announcements")

    # Announcement: compose, exact preview, send, watch the live progress reach 100 %.
    await add_people(app, len(PEOPLE), platform="telegram", first=PEOPLE[0])
    for chat_id in PEOPLE:
        telegram_api.know_chat({"id": chat_id, "type": "private", "first_name": "Olena"})
    await check_page(browser, "02-announcements")
    await browser.type("#text_uk", "Виплати 5 грудня")
    await browser.type("#text_en", "Payments on 5 December")
    await browser.click("#preview")
    await browser.wait_text("main", "Виплати 5 грудня")
    await check_page(browser, "03-announcement-preview")
    async with RunningWorker(app):
        await browser.click("#send")
        # The progress page may still be loading: an element not there yet is waited for.
        await browser.wait_text("#percent", "100 %", within=30)
    await check_page(browser, "04-announcement-progress")
    for chat_id in PEOPLE:
        assert telegram_api.sent_to(chat_id)[0].text.startswith("📢 Оголошення")
    await browser.wait_text('[data-field="sent"]', "5")

    # Status file with one bad row: its line and reason, then the import.
    path = tmp_path / "statuses.csv"
    bad = "VPO-2026-000125,1984-03-15,lost,2026-11-20T10:00:00+02:00,"
    path.write_text(csv_text(DEMO_ROWS[0], bad, DEMO_ROWS[1]), encoding="utf-8")
    await browser.open("/console/statuses")
    await check_page(browser, "05-statuses")
    await browser.type("#file", str(path))
    await browser.click("#check")
    problems = await browser.wait_text("#problems", "status: not one of")
    assert "3" in problems
    await check_page(browser, "06-statuses-check")
    await browser.click("#confirm")
    await browser.wait_text("h2", "Імпортовано")

    # Appointments (with marks) and the audit log.
    office_id = await seed_appointments(app)
    await browser.open(f"/console/appointments?office={office_id}")
    await check_page(browser, "07-appointments")
    await browser.open("/console/audit")
    await browser.wait_text("#audit", "applications.imported")
    await check_page(browser, "08-audit")
    await browser.open("/console/dashboard")
    await check_page(browser, "09-dashboard")


async def test_a_case_from_telegram_answered_in_the_browser(
    app: App, browser: Browser, telegram_api: TelegramApiDouble
) -> None:

    from tests.cases_support import ask, citizen

    chat_id = 3001
    telegram_api.know_chat({"id": chat_id, "type": "private", "first_name": "Olena"})
    await sign_in(browser, app)
    await browser.open("/console/cases")
    await check_page(browser, "10-cases-empty")
    # The person asks while the inbox is open: it shows up without reloading.
    person = await citizen(app, str(chat_id), platform="telegram")
    code = await ask(person, "When will the payment come?")
    await browser.wait_text("#main", code)  # the inbox refreshes itself: main is replaced
    await check_page(browser, "11-cases-inbox")
    await browser.click("#inbox a")
    await browser.click("#take")
    await check_page(browser, "12-case")
    await browser.type("#reply-text", "The payment comes on 5 December.")
    async with RunningWorker(app):
        await browser.click("#reply")
        await telegram_api.wait_for_text(chat_id, "The payment comes on 5 December.", within=20)
    await browser.wait_text("#messages", "The payment comes on 5 December.")


async def tab_to(browser: Browser, tag: str, text: str, limit: int = 40) -> None:
    from selenium.webdriver.common.keys import Keys

    seen = []
    for _ in range(limit):
        await browser.keys(Keys.TAB)
        seen.append(await browser.focused())
        if seen[-1] == (tag, text):
            return
    raise AssertionError(f"{tag} {text!r} is not reachable by Tab: {seen}")


async def test_keyboard_only(app: App, browser: Browser) -> None:
    from selenium.webdriver.common.keys import Keys

    from tests.cases_support import ask, citizen

    office_id = await seed_appointments(app)
    code = await ask(await citizen(app, "41"), "Where is my certificate?")
    await sign_in(browser, app)

    # The case inbox: skip link, the case, take it, answer it — keys only.
    await browser.open("/console/cases")
    await browser.keys(Keys.TAB)
    assert (await browser.focused())[0] == "a"  # "skip to content" comes first
    await browser.keys(Keys.ENTER)
    assert (await browser.focused())[0] == "main"
    await browser.keys(Keys.TAB)
    assert await browser.focused() == ("a", code)
    await browser.keys(Keys.ENTER)
    await browser.wait_text("h1", code)
    await tab_to(browser, "button", "Взяти в роботу")
    await browser.keys(Keys.ENTER)
    await browser.wait_text("main", "Надіслати відповідь")
    await tab_to(browser, "textarea", "")
    await browser.keys("Сертифікат готовий.")
    await tab_to(browser, "button", "Надіслати відповідь")
    await browser.keys(Keys.ENTER)
    await browser.wait_text("#messages", "Сертифікат готовий.")

    # The compose form: every control in order, the preview by Enter.
    await browser.open("/console/announcements")
    await browser.wait_text("h1", "Оголошення")
    await browser.keys(Keys.TAB, Keys.ENTER, Keys.TAB, "Тест з клавіатури")
    assert (await browser.focused())[0] == "textarea"
    await tab_to(browser, "button", "Переглянути", limit=15)
    await browser.keys(Keys.ENTER)
    await browser.wait_text("main", "Тест з клавіатури")

    # A visit is marked from the keyboard.
    await browser.open(f"/console/appointments?office={office_id}")
    await tab_to(browser, "button", "Не прийшов")
    await browser.keys(Keys.ENTER)
    await browser.wait_text("#sheet", "Все ж прийшов")
