"""`python -m bot broadcast`: refuses bad input in one line; queues, follows, reports."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web

import bot.commands.broadcast as cli
from bot.app import App, build_app, main
from bot.services.broadcast import Audience, Draft
from bot.services.broadcast.schedule import release_due
from tests.broadcast_support import FakePlatform, add_people, announcement
from tests.conftest import make_settings


@pytest.fixture
async def app(sqlite_url: str) -> AsyncIterator[App]:
    application = await build_app(make_settings(sqlite_url), migrate=False)
    yield application
    await application.close()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--text-uk", "Текст", "--audience", "lang:de"], "unknown audience"),
        (["--audience", "all"], "no text"),
        (["--text-en", "Text", "--at", "tomorrow"], "not an ISO-8601 time"),
        (["--text-en", "Text", "--at", "2020-01-01T09:00"], "in the past"),
        (["--text-en", "Text", "--at", "2126-01-01T09:00"], "more than a year ahead"),
        (["--text-en", "Text", "--audience", "region:UA99000000000000000"], "unknown region"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    argv: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/never.sqlite3")
    assert main(["broadcast", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not (tmp_path / "never.sqlite3").exists(), "bad input must not touch the database"


async def test_queues_prints_the_id_and_follows_delivery_in_process(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    await add_people(app, 30)
    await add_people(app, 5, platform="viber", first=100, locale="en")
    telegram, viber = FakePlatform("telegram"), FakePlatform("viber", max_batch=300)

    async def fake_platforms(app: App, web_app: web.Application) -> None:
        app.messengers.add(telegram)
        app.messengers.add(viber)

    monkeypatch.setattr("bot.server.configured_adapters", lambda app: [fake_platforms])
    monkeypatch.setattr(cli, "OTHER_WORKER_GRACE", 0.3)
    out, err = io.StringIO(), io.StringIO()
    draft = Draft.of("Виплати 5 грудня", "Payments on 5 December", Audience.parse("all"))

    assert await cli.queue_and_follow(app, draft, None, out, err) == 0

    lines = out.getvalue().splitlines()
    assert lines[0] == "announcement #1 queued"  # never a bare number
    assert "Recipients: 35" in lines and "Delivered: 35" in lines
    assert "recipients: 35 (telegram: 30, viber: 5)" in err.getvalue()
    assert "35/35" in err.getvalue()  # the progress bar got to the end
    assert telegram.sends == 30 and viber.sends == 5
    assert (await announcement(app, 1)).state == "done"


async def test_at_stores_the_time_and_queues_nobody_yet(app: App) -> None:
    await add_people(app, 3)
    at = datetime.now(UTC) + timedelta(days=1)
    out, err = io.StringIO(), io.StringIO()
    draft = Draft.of("", "Office closed on Monday", Audience.parse("lang:uk"))

    assert await cli.queue_and_follow(app, draft, at, out, err) == 0

    assert "only the en text was given" in err.getvalue()
    scheduled = await announcement(app, int(out.getvalue().split()[1].lstrip("#")))
    assert (scheduled.state, scheduled.recipients) == ("scheduled", 0)
    assert scheduled.scheduled_at == at  # the row is the plan: a running bot releases it
    assert await release_due(app.db, at - timedelta(seconds=1), default_locale="uk") == 0
    assert await release_due(app.db, at, default_locale="uk") == 1
