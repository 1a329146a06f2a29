"""Settings: the CONTRACT's names and defaults, one clear line on bad input, secrets hidden."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.logs import setup_logging
from bot.settings import DEMO_DATA_DIR, Settings, SettingsError, load_settings
from tests.telegram_support import free_port

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
VIBER_TOKEN = "4453b6ac12345678-e02c5f12174805f9-daec9cbb5448c51f"
DB_PASSWORD = "s3cret-pa55"


def clean_env() -> dict[str, str]:
    """The environment minus every setting, so only what a test sets counts."""
    names = {name.upper() for name in Settings.model_fields}
    return {k: v for k, v in os.environ.items() if k.upper() not in names}


@pytest.fixture
def no_settings_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env
    yield


def test_contract_defaults(no_settings_env: None) -> None:
    settings = load_settings()
    assert settings.database_url == "sqlite+aiosqlite:///data/socialbot.sqlite3"
    assert settings.telegram_token is None
    assert settings.telegram_api_base == "https://api.telegram.org"
    assert settings.telegram_mode == "polling"
    assert settings.telegram_webhook_secret is None
    assert settings.viber_token is None
    assert settings.viber_api_base == "https://chatapi.viber.com/pa"
    assert settings.viber_bot_name == "Соцпослуги"
    assert settings.public_base_url is None
    assert (settings.http_host, settings.http_port) == ("127.0.0.1", 8080)
    assert settings.staff_ids == frozenset()
    assert settings.telegram_rate_limit == 25
    assert settings.viber_rate_limit == 25
    assert settings.default_locale == "uk"
    assert settings.data_dir == DEMO_DATA_DIR
    assert settings.is_sqlite


def test_environment_and_env_file(no_settings_env: None, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "DATABASE_URL=postgresql+asyncpg://bot:pw@db:5432/bot\n"
        "STAFF_IDS=telegram:42, viber:AbC==\n"
        "DEFAULT_LOCALE=en\n"
        "PUBLIC_BASE_URL=\n"  # empty means unset
        "HTTP_PORT=9000\n",
        encoding="utf-8",
    )
    os.environ["HTTP_PORT"] = "9100"  # the environment wins over .env (monkeypatch restores)
    try:
        settings = load_settings()
    finally:
        del os.environ["HTTP_PORT"]
    assert settings.database_url.startswith("postgresql+asyncpg://")
    assert not settings.is_sqlite
    assert settings.is_staff("telegram", "42") and settings.is_staff("viber", "AbC==")
    assert not settings.is_staff("viber", "42")
    assert settings.default_locale == "en"
    assert settings.public_base_url is None
    assert settings.http_port == 9100


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TELEGRAM_MODE", "bogus"),
        ("HTTP_PORT", "abc"),
        ("HTTP_PORT", "70000"),
        ("DEFAULT_LOCALE", "de"),
        ("STAFF_IDS", "42"),
        ("DATABASE_URL", "mysql://root:hunter2@db/bot"),
        ("TELEGRAM_RATE_LIMIT", "0"),
        ("VIBER_RATE_LIMIT", "fast"),
        ("PUBLIC_BASE_URL", "bot.example.org"),
        ("TELEGRAM_API_BASE", "api.telegram.org"),
        ("LOG_LEVEL", "LOUD"),
        ("REGISTRY_URL", "notaurl"),
        ("REGISTRY_URL", "https://"),
        ("TELEGRAM_TOKEN", "not-a-token"),
        ("TELEGRAM_TOKEN", "123456:has spaces"),
        ("HTTP_HOST", "999.1.1.1"),
        ("HTTP_HOST", "not a host!"),
        ("DATA_DIR", "/nonexistent/poruch-data"),
        ("DATABASE_URL", "sqlite+aiosqlite:///nonexistent/deeper/bot.sqlite3"),
        ("DATABASE_URL", "sqlite+aiosqlite:////nonexistent/deeper/bot.sqlite3"),
    ],
)
def test_invalid_setting_names_the_variable(
    no_settings_env: None, monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert variable in message
    assert "\n" not in message
    assert "hunter2" not in message  # the value itself may be a secret


def test_valid_values_of_the_newly_checked_settings(
    no_settings_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LOG_LEVEL", "debug")
    monkeypatch.setenv("REGISTRY_URL", "https://user:pw@registry.example/api/")
    monkeypatch.setenv("TELEGRAM_TOKEN", TOKEN)
    monkeypatch.setenv("HTTP_HOST", "::1")
    monkeypatch.setenv("DATA_DIR", str(DEMO_DATA_DIR))
    settings = load_settings()
    assert settings.log_level == "DEBUG"
    assert settings.registry_url == "https://user:pw@registry.example/api"
    for host in ("0.0.0.0", "localhost", "bot-1.internal", "127.0.0.1"):
        monkeypatch.setenv("HTTP_HOST", host)
        assert load_settings().http_host == host
    # The default ./data is the one folder made for the database; an existing one is fine.
    monkeypatch.setenv("DATABASE_URL", "sqlite+aiosqlite:///data/bot.sqlite3")
    load_settings()
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/bot.sqlite3")
    load_settings()


def test_webhook_secret_telegram_refuses_is_refused_at_start(
    no_settings_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TELEGRAM_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_MODE", "webhook")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://bot.example.org")
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "has spaces!")
    with pytest.raises(SettingsError, match="TELEGRAM_WEBHOOK_SECRET: may hold only"):
        load_settings()


def test_webhook_mode_needs_its_secret_and_url(
    no_settings_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TELEGRAM_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_MODE", "webhook")
    with pytest.raises(SettingsError, match="TELEGRAM_WEBHOOK_SECRET"):
        load_settings()
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "a-long-random-string")
    with pytest.raises(SettingsError, match="PUBLIC_BASE_URL"):
        load_settings()
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://bot.example.org/")
    settings = load_settings()
    assert settings.public_base_url == "https://bot.example.org"


def test_bad_starts_print_one_line_and_no_secret(tmp_path: Path) -> None:
    """Invalid settings stop the start naming the variable; a failing command leaks nothing.

    The three runs go in parallel: each is a whole interpreter start.
    """
    database = f"sqlite+aiosqlite:///{tmp_path}/bot.sqlite3"
    cases = {
        "TELEGRAM_MODE": {"DATABASE_URL": database, "TELEGRAM_MODE": "bogus"},
        "HTTP_PORT": {"DATABASE_URL": database, "HTTP_PORT": "abc", "TELEGRAM_TOKEN": TOKEN},
        # valid settings, unreachable database: `migrate` fails at run time
        "": {
            "DATABASE_URL": f"postgresql+asyncpg://bot:{DB_PASSWORD}@127.0.0.1:9/bot",
            "TELEGRAM_TOKEN": TOKEN,
            "LOG_LEVEL": "DEBUG",
        },
    }
    runs = {
        variable: subprocess.Popen(
            [sys.executable, "-m", "bot", "migrate"],
            cwd=tmp_path,
            env=clean_env() | overrides,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for variable, overrides in cases.items()
    }
    for variable, run in runs.items():
        stdout, stderr = run.communicate(timeout=120)
        output = stdout + stderr
        assert "Traceback" not in output
        assert TOKEN not in output and DB_PASSWORD not in output
        last = stderr.strip().splitlines()[-1]
        assert last.startswith("error:"), stderr
        if variable:
            assert run.returncode == 2, stderr
            assert len(stderr.strip().splitlines()) == 1, stderr
            assert variable in last
        else:
            assert run.returncode == 1 and "migrate failed" in last
    assert not (tmp_path / "bot.sqlite3").exists()  # stopped before touching anything


def test_bad_configuration_stops_run_before_anything_else(tmp_path: Path) -> None:
    """`run` with one bad variable: one line naming it, exit 2, nothing written or migrated.

    Every case is a whole interpreter start; they run in parallel.
    """
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    database = f"sqlite+aiosqlite:///{tmp_path}/bot.sqlite3"
    valid = {
        "DATABASE_URL": database,
        "TELEGRAM_TOKEN": TOKEN,
        "TELEGRAM_API_BASE": "http://127.0.0.1:9",
        "HTTP_PORT": str(free_port()),
    }
    cases = {
        "LOG_LEVEL": {"LOG_LEVEL": "LOUD"},
        "HTTP_PORT": {"HTTP_PORT": str(port)},  # another program listens there
        "HTTP_HOST": {"HTTP_HOST": "192.0.2.1"},  # an address this machine does not have
        "DATA_DIR": {"DATA_DIR": str(tmp_path / "missing")},
        "REGISTRY_URL": {"REGISTRY_URL": "notaurl"},
        "TELEGRAM_TOKEN": {"TELEGRAM_TOKEN": "bad"},
        "DATABASE_URL": {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/x/y/bot.sqlite3"},
    }
    try:
        runs = {
            variable: subprocess.Popen(
                [sys.executable, "-m", "bot", "run"],
                cwd=tmp_path,
                env=clean_env() | valid | overrides,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for variable, overrides in cases.items()
        }
        for variable, run in runs.items():
            try:
                stdout, stderr = run.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                run.kill()
                stdout, stderr = run.communicate()
                pytest.fail(f"{variable}: the bot started\n{stderr[-2000:]}")
            lines = (stdout + stderr).strip().splitlines()
            assert run.returncode == 2, (variable, stderr)
            assert len(lines) == 1, (variable, stderr)
            assert lines[0].startswith("error:") and variable in lines[0], lines
    finally:
        taken.close()
    assert sorted(path.name for path in tmp_path.iterdir()) == []  # nothing ran


# -- secrets ------------------------------------------------------------------------


def secret_settings() -> Settings:
    return load_settings(
        _env_file=None,
        database_url=f"postgresql+asyncpg://bot:{DB_PASSWORD}@db:5432/bot",
        telegram_token=TOKEN,
        viber_token=VIBER_TOKEN,
        telegram_mode="webhook",
        telegram_webhook_secret="webhook-secret-value",
        public_base_url="https://bot.example.org",
    )


def test_secrets_are_not_in_repr_or_str() -> None:
    settings = secret_settings()
    for shown in (repr(settings), str(settings), f"{settings}", repr(settings.telegram_token)):
        for secret in (TOKEN, VIBER_TOKEN, DB_PASSWORD, "webhook-secret-value"):
            assert secret not in shown
    assert "postgresql+asyncpg://bot:***@db:5432/bot" in repr(settings)
    # …yet the program itself still gets the real values
    assert settings.telegram_token is not None
    assert settings.telegram_token.get_secret_value() == TOKEN
    assert DB_PASSWORD in settings.database_url


def test_secrets_are_masked_in_log_output(capsys: pytest.CaptureFixture[str]) -> None:
    settings = secret_settings()
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        setup_logging("DEBUG", "text")
        log = logging.getLogger("aiohttp.client")
        log.info("POST https://api.telegram.org/bot%s/sendMessage", TOKEN)
        log.warning("viber token %s rejected", VIBER_TOKEN)
        log.error("cannot connect to %s", settings.database_url)
        log.info("webhook secret is %s", "webhook-secret-value")
        try:
            raise RuntimeError(f"auth failed with {TOKEN}")
        except RuntimeError:
            log.exception("request failed")
        setup_logging("INFO", "json")
        log.info("settings: %r, token %s", settings, TOKEN)
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
    output = capsys.readouterr().err
    assert "sendMessage" in output and "request failed" in output and "RuntimeError" in output
    for secret in (TOKEN, VIBER_TOKEN, DB_PASSWORD, "webhook-secret-value", "AAHdqTcvCH1vG"):
        assert secret not in output


def test_registry_credentials_are_hidden_too() -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        registry_url="https://poruch:registry-pass-9@registry.example/api",
    )
    assert "registry-pass-9" not in repr(settings)
    assert "https://poruch:***@registry.example/api" in repr(settings)
