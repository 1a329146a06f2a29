"""Logs carry no token, phone number, application number, birth date, nor what people wrote."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from bot.app import App
from bot.logs import RedactingFilter, redact, register_secret, setup_logging
from handlers.conversation import Conversation
from tests.conftest import onboard


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in logging.root.manager.loggerDict}
    yield
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.mark.parametrize(
    "private",
    [
        # tokens
        "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
        "https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/getMe",
        "4453b6ac12345678-e02c5f12174805f9-daec9cbb5448c51f",
        # phone numbers, the ways people write them
        "+380671234567",
        "380671234567",
        "0671234567",
        "+380 67 123 45 67",
        "+38 (067) 123-45-67",
        "+38 067 123 45 67",
        "067 123 45 67",
        "0 67 123 45 67",
        "(067)123-45-67",
        "067-123-45-67",
        # application numbers
        "VPO-2026-000123",
        "vpo-2026-000123",
        "ВПО-2026-000123",
        # birth dates
        "1984-03-15",
        "15.03.1984",
        "5.3.1984",
        "15/03/1984",
    ],
)
def test_redact_hides_personal_data(private: str) -> None:
    line = f"lookup for [{private}] failed"
    redacted = redact(line)
    digits = "".join(ch for ch in private if ch.isdigit())
    assert private not in redacted
    assert digits[-6:] not in redacted, redacted
    assert redacted.startswith("lookup for [") and redacted.endswith("] failed")


@pytest.mark.parametrize(
    "harmless",
    [
        "handled 200 updates in 12.5 s",
        "person 42 moved to booking/date (version 7)",
        "outbox: 1500 pending, batch of 30",
        "HTTP server on 127.0.0.1:8080",
        "announcement 12 sent to 1234 people",
    ],
)
def test_redact_leaves_ordinary_log_lines_alone(harmless: str) -> None:
    assert redact(harmless) == harmless


def test_registered_secrets_are_masked_whatever_their_shape() -> None:
    register_secret("plain-password-1")
    register_secret("abc")  # too short to mask safely: ignored
    assert redact("login with plain-password-1") == "login with <secret>"
    assert redact("abc def") == "abc def"


def test_filter_redacts_arguments_and_exception_text() -> None:
    private = ("+380671234567", "VPO-2026-000123")
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "call %s about %s", private, None)
    try:
        raise ValueError("born 1984-03-15")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    assert RedactingFilter().filter(record)
    formatted = logging.Formatter().format(record)
    assert "380671234567" not in formatted and "VPO-2026" not in formatted
    assert "1984-03-15" not in formatted and "ValueError" in formatted


def test_text_and_json_output_are_redacted(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_logging("INFO", "json")
    logging.getLogger("bot.test").warning("person wrote %s", "+380671234567")
    line = capsys.readouterr().err.strip()
    entry = json.loads(line)
    assert entry["level"] == "WARNING" and entry["logger"] == "bot.test"
    assert "380671234567" not in line and "<phone>" in entry["message"]
    setup_logging("INFO", "text")
    logging.getLogger("bot.test").info("status for %s", "VPO-2026-000123")
    assert "<application>" in capsys.readouterr().err


def test_debug_logging_keeps_sql_parameters_out(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """Database drivers log statements with their parameters (a birth date, a number)."""
    setup_logging("DEBUG", "text")
    for name in ("sqlalchemy.engine", "aiosqlite", "asyncpg"):
        assert not logging.getLogger(name).isEnabledFor(logging.INFO), name
    assert logging.getLogger("bot.engine").isEnabledFor(logging.DEBUG)


async def test_the_engine_does_not_log_what_people_write(
    sqlite_app: App, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot")
    caplog.set_level(logging.DEBUG, logger="dialogs")
    caplog.set_level(logging.DEBUG, logger="handlers")
    caplog.set_level(logging.DEBUG, logger="storage")
    chat = Conversation(sqlite_app.engine, user_id="77")
    await onboard(chat, "en")
    words = "Zhytomyrska street 7, my husband Petro"
    await chat.says(words)  # not understood: re-prompted
    await chat.says(f"help {words}")
    await chat.says(f"/start {words}")
    await chat.presses_payload(words[:30])  # a forged payload
    for record in caplog.records:
        assert "Zhytomyrska" not in record.getMessage()
        assert "Petro" not in str(record.args)
