"""Staff web console, server side: sign-in, sessions, CSRF, and each page's effect in the DB."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import FormData
from sqlalchemy import func, select

from bot.app import App, build_app
from bot.app import main as cli_main
from bot.console.auth import LINK_LIFETIME, NotStaff, RateLimit, issue_link
from bot.services.booking.reminders import catalog_of
from storage.models import AuditEntry, Person
from storage.models.booking import Appointment
from storage.models.broadcast import Announcement
from storage.models.console import ConsoleSession
from storage.models.status import Application
from tests.broadcast_support import add_people
from tests.conftest import Clock, make_settings
from tests.console_support import STAFF, new_link, served, sign_in
from tests.status_support import DEMO_ROWS, csv_text

PAGES = [
    "/console/dashboard",
    "/console/cases",
    "/console/announcements",
    "/console/statuses",
    "/console/appointments",
    "/console/audit",
]


@pytest.fixture
async def app(sqlite_url: str, clock: Clock) -> AsyncIterator[App]:
    application = await build_app(
        make_settings(sqlite_url, staff_ids=f"{STAFF},viber:200"), migrate=False, clock=clock
    )
    yield application
    await application.close()


async def audit_actions(app: App) -> list[str]:
    async with app.db.transaction() as session:
        return list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


async def count(app: App, model: Any) -> int:
    async with app.db.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


# -- sign-in and sessions -----------------------------------------------------------
@pytest.mark.parametrize("path", [*PAGES, "/console/", "/console/announcements/1/progress"])
async def test_every_page_needs_a_session(app: App, path: str) -> None:
    async with served(app) as client:
        response = await client.get(path, allow_redirects=False)
        assert response.status == 401
        assert "/console" in await response.text()


async def test_a_link_signs_in_once_and_shows_the_console(app: App) -> None:
    async with served(app) as client:
        token = await new_link(app)
        # Opening the link (or a messenger's link preview) spends nothing.
        assert (await client.get(f"/console/signin/{token}")).status == 200
        assert (await client.get(f"/console/signin/{token}")).status == 200
        response = await client.post(f"/console/signin/{token}")
        assert response.status == 200
        assert str(response.url).endswith("/console/dashboard")
        cookie = response.history[0].headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
        for path in PAGES:
            assert (await client.get(path)).status == 200, path
        client.session.cookie_jar.clear()
        again = await client.post(f"/console/signin/{token}")
        assert again.status == 403
    assert await audit_actions(app) == ["console.link_issued", "console.signed_in"]


async def test_cookie_is_secure_behind_https(sqlite_url: str, clock: Clock) -> None:
    settings = make_settings(
        sqlite_url, staff_ids=STAFF, public_base_url="https://bot.example.org"
    )
    app = await build_app(settings, migrate=False, clock=clock)
    try:
        async with served(app) as client:
            token = await new_link(app)
            response = await client.post(f"/console/signin/{token}", allow_redirects=False)
            assert response.status == 303
            assert "Secure" in response.headers["Set-Cookie"]
    finally:
        await app.close()


async def test_an_expired_or_forged_link_is_refused(app: App, clock: Clock) -> None:
    async with served(app) as client:
        token = await new_link(app)
        clock.advance(seconds=LINK_LIFETIME.total_seconds() + 1)
        assert (await client.get(f"/console/signin/{token}")).status == 400
        assert (await client.post(f"/console/signin/{token}")).status == 403
        forged = token[:-4] + ("aaaa" if not token.endswith("aaaa") else "bbbb")
        assert (await client.post(f"/console/signin/{forged}")).status == 403
    assert await count(app, ConsoleSession) == 0


async def test_nobody_outside_staff_ids_gets_a_link(app: App) -> None:
    async with app.db.transaction() as session:
        with pytest.raises(NotStaff):
            await issue_link(session, app.settings, "telegram:999", app.runtime.now(), via="t")


async def test_removing_someone_from_staff_ends_their_session_at_once(app: App) -> None:
    async with served(app) as client:
        await sign_in(client, app)
        assert (await client.get("/console/audit")).status == 200
        app.settings = app.settings.model_copy(update={"staff_ids": frozenset({"viber:200"})})
        assert (await client.get("/console/audit")).status == 401
    async with app.db.transaction() as session:
        row = await session.scalar(select(ConsoleSession))
        assert row is not None and row.ended_at is not None
    assert (await audit_actions(app))[-1] == "console.session_revoked"


async def test_a_link_issued_before_removal_signs_nobody_in(app: App) -> None:
    async with served(app) as client:
        token = await new_link(app)
        app.settings = app.settings.model_copy(update={"staff_ids": frozenset({"viber:200"})})
        assert (await client.post(f"/console/signin/{token}")).status == 403
    assert await count(app, ConsoleSession) == 0


async def test_an_idle_session_ends(app: App, clock: Clock) -> None:
    async with served(app) as client:
        await sign_in(client, app)
        clock.advance(minutes=app.settings.console_session_minutes - 1)
        assert (await client.get("/console/audit")).status == 200  # use keeps it alive
        clock.advance(minutes=app.settings.console_session_minutes - 1)
        assert (await client.get("/console/audit")).status == 200
        clock.advance(minutes=app.settings.console_session_minutes + 1)
        assert (await client.get("/console/audit")).status == 401


async def test_sign_out_ends_the_session(app: App) -> None:
    async with served(app) as client:
        csrf = await sign_in(client, app)
        response = await client.post("/console/signout", data={"csrf": csrf})
        assert response.status == 200 and str(response.url).endswith("/signed-out")
        assert (await client.get("/console/audit")).status == 401
    assert (await audit_actions(app))[-1] == "console.signed_out"


async def test_sign_in_is_rate_limited(app: App) -> None:
    async with served(app) as client:
        for _ in range(10):
            assert (await client.post("/console/signin/x.y.z")).status == 403
        assert (await client.post("/console/signin/x.y.z")).status == 429
        # Behind the proxy (docs/nginx.conf) each client has its own budget.
        for address in ("198.51.100.7", "198.51.100.8"):
            proxied = {"X-Real-IP": address}
            for _ in range(10):
                assert (await client.post("/console/signin/x.y.z", headers=proxied)).status == 403
            assert (await client.post("/console/signin/x.y.z", headers=proxied)).status == 429


def test_rate_limit_window_slides() -> None:
    now = [0.0]
    limit = RateLimit(attempts=2, window=10, clock=lambda: now[0])
    assert limit.allow("a") and limit.allow("a") and not limit.allow("a")
    assert limit.allow("b")
    now[0] = 10.5
    assert limit.allow("a")


async def test_security_headers_on_every_answer(app: App) -> None:
    async with served(app) as client:
        for response in [await client.get("/console/audit"), await client.get("/console/x")]:
            csp = response.headers["Content-Security-Policy"]
            assert "default-src 'none'" in csp and "script-src 'self'" in csp
            assert "unsafe-inline" not in csp
            assert response.headers["Referrer-Policy"] == "same-origin"
            assert response.headers["X-Frame-Options"] == "DENY"
        await sign_in(client, app)
        html = await (await client.get("/console/announcements")).text()
        assert "<script>" not in html and " on" + "click=" not in html


# -- CSRF ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    [
        "/console/announcements",
        "/console/announcements/preview",
        "/console/statuses/import",
        "/console/signout",
        "/console/appointments/1/visit",
        "/console/announcements/1/cancel",
    ],
)
async def test_a_form_without_the_csrf_token_is_refused(app: App, path: str) -> None:
    async with served(app) as client:
        csrf = await sign_in(client, app)
        form = {"text_uk": "Привіт", "audience": "all", "visit": "no_show"}
        assert (await client.post(path, data=form)).status == 403
        assert (await client.post(path, data={**form, "csrf": csrf + "x"})).status == 403
        other_site = {"Origin": "https://evil.example"}
        refused = await client.post(path, data={**form, "csrf": csrf}, headers=other_site)
        assert refused.status == 403
    assert await count(app, Announcement) == 0


# -- announcements --------------------------------------------------------------------
async def test_announcement_preview_send_progress_and_cancel(app: App) -> None:
    await add_people(app, 3, platform="telegram", locale="uk")
    await add_people(app, 2, platform="viber", locale="en", first=50)
    form = {"text_uk": "Виплати 5 грудня", "text_en": "Payments on 5 December", "audience": "all"}
    async with served(app) as client:
        csrf = await sign_in(client, app)
        preview = await client.post("/console/announcements/preview", data={**form, "csrf": csrf})
        html = await preview.text()
        assert preview.status == 200
        assert "Виплати 5 грудня" in html and "Payments on 5 December" in html
        assert "<b>📢 Оголошення</b>" in html  # Telegram's bold title, as sent
        assert "Viber" in html and "0,04" in html  # 2 paid Viber messages × 0.0196 EUR
        assert await count(app, Announcement) == 0  # a preview sends nothing
        sent = await client.post("/console/announcements", data={**form, "csrf": csrf})
        assert sent.status == 200
        async with app.db.transaction() as session:
            announcement = await session.scalar(select(Announcement))
            assert announcement is not None
            assert announcement.author == STAFF and announcement.recipients == 5
        assert str(sent.url).endswith(f"/console/announcements/{announcement.id}")
        progress = await (
            await client.get(f"/console/announcements/{announcement.id}/progress")
        ).json()
        assert progress["total"] == 5 and progress["remaining"] == 5 and progress["percent"] == 0
        cancel = await client.post(
            f"/console/announcements/{announcement.id}/cancel", data={"csrf": csrf}
        )
        assert cancel.status == 200
        progress = await (
            await client.get(f"/console/announcements/{announcement.id}/progress")
        ).json()
        assert progress["state"] == "cancelled" and progress["cancelled"] == 5
        history = await (await client.get("/console/announcements")).text()
        assert f"/console/announcements/{announcement.id}" in history
    assert {"announcement.queued", "announcement.cancelled"} <= set(await audit_actions(app))


async def test_announcement_form_errors_are_shown_in_the_form(app: App) -> None:
    async with served(app) as client:
        csrf = await sign_in(client, app)
        empty = await client.post(
            "/console/announcements/preview", data={"csrf": csrf, "audience": "all"}
        )
        assert empty.status == 400
        assert "Напишіть оголошення" in await empty.text()
        past = await client.post(
            "/console/announcements",
            data={"csrf": csrf, "text_uk": "Т", "audience": "all", "at": "2020-01-01T10:00"},
        )
        assert past.status == 400
    assert await count(app, Announcement) == 0


async def test_a_scheduled_announcement_waits(app: App) -> None:
    await add_people(app, 2)
    async with served(app) as client:
        csrf = await sign_in(client, app)
        response = await client.post(
            "/console/announcements",
            data={"csrf": csrf, "text_uk": "Завтра", "audience": "all", "at": "2026-11-25T09:00"},
        )
        assert response.status == 200
    async with app.db.transaction() as session:
        announcement = await session.scalar(select(Announcement))
        assert announcement is not None and announcement.state == "scheduled"
        assert announcement.recipients == 0


# -- application statuses ----------------------------------------------------------------
def upload(csrf: str, text: str) -> FormData:
    form = FormData()
    form.add_field("csrf", csrf)
    form.add_field("file", io.BytesIO(text.encode()), filename="statuses.csv")
    return form


async def test_status_upload_lists_bad_rows_dry_runs_then_imports(app: App) -> None:
    bad = "VPO-2026-000125,not-a-date,approved,2026-11-20T10:00:00+02:00,"
    text = csv_text(DEMO_ROWS[0], bad, DEMO_ROWS[1])
    async with served(app) as client:
        csrf = await sign_in(client, app)
        checked = await client.post("/console/statuses/check", data=upload(csrf, text))
        html = await checked.text()
        assert checked.status == 200
        assert '<td>3</td><td lang="en">birth_date: not a valid past date' in html
        assert '<td id="problem-count">1</td>' in html
        assert await count(app, Application) == 0  # the dry run stored nothing
        upload_id = html.split('name="upload" value="')[1].split('"')[0]
        done = await client.post(
            "/console/statuses/import", data={"csrf": csrf, "upload": upload_id}
        )
        assert done.status == 200
        assert await count(app, Application) == 2
        again = await client.post(
            "/console/statuses/import", data={"csrf": csrf, "upload": upload_id}
        )
        assert again.status == 400  # one confirmation per check
    async with app.db.transaction() as session:
        entry = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "applications.imported")
        )
        assert entry is not None and entry.actor == STAFF
        assert entry.details["added"] == 2 and entry.details["skipped"] == 1
        assert "VPO" not in str(entry.details)  # no application numbers in the log


async def test_a_file_that_is_not_csv_text_is_refused_with_the_reason(app: App) -> None:
    async with served(app) as client:
        csrf = await sign_in(client, app)
        form = FormData()
        form.add_field("csrf", csrf)
        form.add_field("file", io.BytesIO(b"\xff\xfe\x00bad"), filename="x.csv")
        response = await client.post("/console/statuses/check", data=form)
        assert response.status == 400
        assert "UTF-8" in await response.text()


# -- appointments ---------------------------------------------------------------------
async def booked(app: App, starts_in: timedelta) -> tuple[int, str]:
    catalog = catalog_of(app.runtime)
    office = next(iter(catalog.offices.values()))
    now = app.runtime.now()
    async with app.db.transaction() as session:
        person = Person(platform="telegram", platform_user_id="7", locale="uk")
        session.add(person)
        await session.flush()
        appointment = Appointment(
            code=f"DF{int(starts_in.total_seconds()) % 90 + 10}",
            person_id=person.id,
            office_id=office.id,
            service_id=office.services[0],
            starts_at=now + starts_in,
            ends_at=now + starts_in + timedelta(minutes=20),
            state="booked",
        )
        session.add(appointment)
        await session.flush()
        return appointment.id, office.id


async def test_appointments_of_the_day_and_marking_a_no_show(app: App) -> None:
    from storage.models.attendance import NoShow

    appointment_id, office_id = await booked(app, timedelta(hours=-1))
    day = app.runtime.now().date().isoformat()
    visit = {"csrf": "", "office": office_id, "day": day}
    async with served(app) as client:
        visit["csrf"] = await sign_in(client, app)
        sheet = await client.get(f"/console/appointments?office={office_id}&day={day}")
        html = await sheet.text()
        assert "DF" in html and 'value="no_show"' in html
        response = await client.post(
            f"/console/appointments/{appointment_id}/visit", data={**visit, "visit": "no_show"}
        )
        assert response.status == 200
        html = await response.text()
        assert "Не прийшов" in html and 'value="came"' in html
        assert await count(app, NoShow) == 1
        await client.post(
            f"/console/appointments/{appointment_id}/visit", data={**visit, "visit": "came"}
        )
        assert await count(app, NoShow) == 0
    async with app.db.transaction() as session:
        appointment = await session.get(Appointment, appointment_id)
        assert appointment is not None and appointment.state == "booked"
    actions = await audit_actions(app)
    assert actions[-2:] == ["appointment.no_show", "appointment.no_show_undone"]


async def test_a_future_appointment_cannot_be_marked(app: App) -> None:
    from storage.models.attendance import NoShow

    appointment_id, office_id = await booked(app, timedelta(hours=2))
    async with served(app) as client:
        csrf = await sign_in(client, app)
        response = await client.post(
            f"/console/appointments/{appointment_id}/visit",
            data={"csrf": csrf, "visit": "no_show", "office": office_id, "day": "2026-11-24"},
        )
        assert response.status == 200 and 'role="alert"' in await response.text()
    assert await count(app, NoShow) == 0


# -- audit log, language --------------------------------------------------------------------
async def test_audit_log_filters(app: App) -> None:
    async with served(app) as client:
        await sign_in(client, app)
        everything = await (await client.get("/console/audit")).text()
        assert "console.signed_in" in everything and "console.link_issued" in everything
        only = await (await client.get("/console/audit?action=console.signed_in")).text()
        table = only.split('<table id="audit">')[1]
        assert "console.signed_in" in table and "console.link_issued" not in table


async def test_english_on_request_ukrainian_by_default(app: App) -> None:
    async with served(app) as client:
        await sign_in(client, app)
        assert "Оголошення" in await (await client.get("/console/announcements")).text()
        switched = await client.get(
            "/console/language?to=en&next=/console/announcements", allow_redirects=True
        )
        html = await switched.text()
        assert '<html lang="en">' in html and "New announcement" in html
        away = await client.get(
            "/console/language?to=en&next=https://evil.example/", allow_redirects=False
        )
        assert away.headers["Location"] == "/console/"


# -- how staff get a link -----------------------------------------------------------------
def test_cli_prints_a_link_for_staff_only(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("STAFF_IDS", STAFF)
    monkeypatch.setenv("SECRET_KEY", "poruch-tests-only-secret-key-0123456789")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://bot.example.org")
    assert cli_main(["console-link", "--staff", "telegram:999"]) == 2
    assert "not in STAFF_IDS" in capsys.readouterr().err
    assert cli_main(["console-link", "--staff", STAFF]) == 0
    out = capsys.readouterr().out
    assert out.startswith("https://bot.example.org/console/signin/")


async def test_console_command_gives_staff_a_link_and_nobody_else(
    app: App, chat_factory: Any
) -> None:
    from handlers.conversation import Conversation
    from tests.conftest import onboard

    staff = Conversation(app.engine, user_id="100", platform="telegram")
    await onboard(staff)
    replies = await staff.says("/console")
    links = [link.url for reply in replies for link in reply.links]
    assert len(links) == 1 and "/console/signin/" in links[0]
    token = links[0].rsplit("/", 1)[1]
    async with served(app) as client:
        assert (await client.post(f"/console/signin/{token}")).status == 200

    citizen = Conversation(app.engine, user_id="555", platform="telegram")
    await onboard(citizen)
    replies = await citizen.says("/console")
    assert not [link for reply in replies for link in reply.links]
    assert "I do not know this command" in replies[0].text


# -- cases and the dashboard ------------------------------------------------------------------
async def test_case_inbox_take_reply_with_a_ready_answer_and_close(app: App) -> None:
    from tests.cases_support import ask, case_by_code, citizen, outbox_for

    person = await citizen(app, "31")
    code = await ask(person, "When is my payment?")
    case = await case_by_code(app, code)
    async with served(app) as client:
        csrf = await sign_in(client, app)
        inbox = await (await client.get("/console/cases")).text()
        assert code in inbox and f"/console/cases/{case.id}" in inbox
        assert code in await (await client.get("/console/cases/live")).text()
        page = await (await client.get(f"/console/cases/{case.id}")).text()
        assert "When is my payment?" in page and 'id="take"' in page
        await client.post(f"/console/cases/{case.id}/take", data={"csrf": csrf})
        page = await (await client.get(f"/console/cases/{case.id}")).text()
        assert 'id="reply"' in page and 'name="canned"' in page
        canned = page.split('<option value="', 2)[2].split('"')[0]  # the first ready answer
        await client.post(
            f"/console/cases/{case.id}/reply", data={"csrf": csrf, "text": "", "canned": canned}
        )
        await client.post(
            f"/console/cases/{case.id}/reply", data={"csrf": csrf, "text": "Тиждень, не більше."}
        )
        live = await (await client.get(f"/console/cases/{case.id}/live")).text()
        assert "Тиждень, не більше." in live
        await client.post(
            f"/console/cases/{case.id}/close", data={"csrf": csrf, "reason": "answered"}
        )
    sent = await outbox_for(app, "test", "31")
    texts = [reply.text for _, replies in sent for reply in replies]
    assert "Тиждень, не більше." in texts
    assert len([r for r in sent if r[0].dedupe_key.startswith("case-msg:")]) == 2
    assert any(r[0].dedupe_key.startswith("case-closed:") for r in sent)
    actions = await audit_actions(app)
    assert [a for a in actions if a in ("case.taken", "case.replied", "case.closed")] == [
        "case.taken",
        "case.replied",
        "case.replied",
        "case.closed",
    ]
    assert "case.viewed" in actions


async def test_a_case_held_by_someone_else_cannot_be_answered(app: App) -> None:
    from bot.services.cases import service
    from tests.cases_support import ask, case_by_code, citizen

    code = await ask(await citizen(app, "32"), "Where do I send my papers?")
    case = await case_by_code(app, code)
    async with app.db.transaction() as session:
        assert await service.take(
            session, case.id, "viber:200", app.settings.staff_ids, app.runtime.now()
        )
    async with served(app) as client:
        csrf = await sign_in(client, app)
        response = await client.post(
            f"/console/cases/{case.id}/reply", data={"csrf": csrf, "text": "Mine now"}
        )
        assert 'role="alert"' in await response.text()
        assert 'id="take"' not in await response.text()
    assert "case.replied" not in await audit_actions(app)


async def test_dashboard_draws_the_statistics(app: App) -> None:
    from tests.cases_support import ask, citizen

    await ask(await citizen(app, "33"), "Question")
    async with served(app) as client:
        await sign_in(client, app)
        assert (await client.get("/console/dashboard")).status == 200  # the last 30 days
        html = await (await client.get("/console/dashboard?from=2020-01-01&to=2030-12-31")).text()
        assert html.count("<svg") >= 3 and 'role="img"' in html
        assert "Test: 1" in html  # people by messenger, in the chart's text alternative
        assert "<dd>1</dd>" in html.split('id="case-numbers"')[1]  # one case waiting now
        empty = await (await client.get("/console/dashboard?from=2020-01-01&to=2020-01-31")).text()
        assert "<dd>0</dd>" in empty.split('id="case-numbers"')[1]


async def test_on_start_sessions_of_former_staff_are_ended_and_audited(app: App) -> None:
    async with served(app) as client:
        await sign_in(client, app)
    app.settings = app.settings.model_copy(update={"staff_ids": frozenset({"viber:200"})})
    async with served(app):
        pass
    async with app.db.transaction() as session:
        row = await session.scalar(select(ConsoleSession))
        assert row is not None and row.ended_at is not None
    assert (await audit_actions(app))[-1] == "console.session_revoked"


async def test_old_links_and_sessions_are_deleted(app: App, clock: Clock) -> None:
    from storage.models.console import ConsoleLink

    async with served(app) as client:
        await sign_in(client, app)
        await new_link(app)
        clock.advance(days=2)
        await sign_in(client, app)
    assert await count(app, ConsoleLink) == 1  # only today's
    assert await count(app, ConsoleSession) == 1


async def test_sign_in_single_use_and_revocation_on_both_databases(
    db_url: str, clock: Clock
) -> None:
    app = await build_app(make_settings(db_url, staff_ids=STAFF), migrate=False, clock=clock)
    try:
        async with served(app) as client:
            token = await new_link(app)
            assert (await client.post(f"/console/signin/{token}")).status == 200
            assert (await client.post(f"/console/signin/{token}")).status == 403
            assert (await client.get("/console/audit")).status == 200
            app.settings = app.settings.model_copy(update={"staff_ids": frozenset()})
            assert (await client.get("/console/audit")).status == 401
        assert await audit_actions(app) == [
            "console.link_issued",
            "console.signed_in",
            "console.session_revoked",
        ]
    finally:
        await app.close()
