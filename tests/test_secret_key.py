"""SECRET_KEY: configured or generated once, owner-only, never logged; keyed hashes."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest

from bot.secret_key import ensure_secret_key, keyed_hash
from bot.settings import SettingsError, load_settings
from tests.conftest import make_settings


def test_generated_once_kept_owner_only_and_reused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "db").mkdir()  # only ./data is made for a database (DATABASE_URL's check)
    url = f"sqlite+aiosqlite:///{tmp_path}/db/bot.sqlite3"
    settings = make_settings(url, secret_key=None)
    with caplog.at_level(logging.WARNING):
        first = ensure_secret_key(settings)
    key_file = tmp_path / "db" / "secret_key"
    assert key_file.is_file()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert first.secret_key is not None
    value = first.secret_key.get_secret_value()
    assert value not in caplog.text and "SECRET_KEY" in caplog.text
    again = ensure_secret_key(make_settings(url, secret_key=None))
    assert again.secret_key is not None and again.secret_key.get_secret_value() == value


def test_configured_key_wins_and_no_file_is_written(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/bot.sqlite3"
    settings = ensure_secret_key(make_settings(url, secret_key="k" * 40))
    assert settings.secret_key is not None and settings.secret_key.get_secret_value() == "k" * 40
    assert not (tmp_path / "secret_key").exists()


def test_short_key_is_refused_with_one_line() -> None:
    with pytest.raises(SettingsError, match="SECRET_KEY"):
        load_settings(_env_file=None, secret_key="short")


def test_keyed_hash_depends_on_key_purpose_and_value(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/bot.sqlite3"
    one = make_settings(url, secret_key="a" * 40)
    two = make_settings(url, secret_key="b" * 40)
    assert keyed_hash(one, "lockout", "telegram:1") == keyed_hash(one, "lockout", "telegram:1")
    assert keyed_hash(one, "lockout", "telegram:1") != keyed_hash(two, "lockout", "telegram:1")
    assert keyed_hash(one, "lockout", "telegram:1") != keyed_hash(one, "receipt", "telegram:1")
    assert "telegram:1" not in keyed_hash(one, "lockout", "telegram:1")
