"""Operator settings, read from the environment and an optional `.env` file.

Names and defaults follow `shared/CONTRACT.md` exactly. Secrets are `SecretStr`
so that they never appear in a repr, a log line or an error message.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import unquote, urlsplit, urlunsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.logs import register_secret
from storage.db import DEFAULT_SQLITE_FOLDER, is_default_sqlite_folder

DEMO_DATA_DIR = Path(__file__).resolve().parent / "data"
PLATFORMS = ("telegram", "viber", "terminal", "test")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# What Telegram issues: the bot's numeric id, a colon, then letters, digits, _ and -.
TELEGRAM_TOKEN = re.compile(r"\d{1,20}:[A-Za-z0-9_-]{1,200}")
WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")  # what setWebhook accepts
HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


class SettingsError(Exception):
    """Raised with one human-readable line naming the bad variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        # `PUBLIC_BASE_URL=` in a .env or compose file means "not set", not "the empty URL"
        env_ignore_empty=True,
    )

    database_url: str = "sqlite+aiosqlite:///data/socialbot.sqlite3"
    telegram_token: SecretStr | None = None
    telegram_api_base: str = "https://api.telegram.org"
    telegram_mode: Literal["polling", "webhook"] = "polling"
    telegram_webhook_secret: SecretStr | None = None
    viber_token: SecretStr | None = None
    #: keyed hashes and console signing (bot/secret_key.py); generated when unset
    secret_key: SecretStr | None = Field(default=None, min_length=32)
    viber_api_base: str = "https://chatapi.viber.com/pa"
    viber_bot_name: str = Field(default="Соцпослуги", max_length=28)
    public_base_url: str | None = None
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=1, le=65535)
    staff_ids: Annotated[frozenset[str], NoDecode] = frozenset()
    telegram_rate_limit: float = Field(default=25, gt=0)
    #: PostgreSQL: seconds before another worker sends replies a crashed one left unsent
    telegram_resend_after: float = Field(default=30, gt=0)
    #: SQLite: count every statement sent (poruch_db_statements_total), a diagnostic
    db_count_statements: bool = False
    viber_rate_limit: float = Field(default=25, gt=0)
    viber_message_price: float = Field(default=0.0196, ge=0)  # EUR, docs/announcements.md
    #: how long a dead worker's claimed outbox rows wait before another takes them over
    outbox_lease_seconds: float = Field(default=60, ge=1, le=3600)
    default_locale: Literal["uk", "en"] = "uk"
    data_dir: Path = DEMO_DATA_DIR
    registry_url: str | None = None  # optional application-status registry (docs/status.md)
    #: closed "Ask a specialist" cases are deleted this many months after closing (docs/cases.md)
    case_retention_months: int = Field(default=12, ge=1, le=120)
    #: optional Telegram group where new cases are posted (docs/cases.md)
    staff_chat_id: int | None = None
    #: `make demo` only: Telegram/Viber deliveries without a token go to this file
    demo_transcript: Path | None = None
    #: the staff web console (bot/console): where it is served, idle session lifetime
    console_path: str = "/console"
    console_session_minutes: int = Field(default=480, ge=1, le=7 * 24 * 60)
    log_format: Literal["text", "json"] = "text"
    log_level: str = "INFO"

    @field_validator("staff_ids", mode="before")
    @classmethod
    def _parse_staff_ids(cls, value: object) -> frozenset[str]:
        if value is None or value == "":
            return frozenset()
        items = value.split(",") if isinstance(value, str) else list(value)  # type: ignore[call-overload]
        parsed: set[str] = set()
        for raw in items:
            item = str(raw).strip()
            if not item:
                continue
            platform, _, user_id = item.partition(":")
            if platform not in ("telegram", "viber", "terminal") or not user_id:
                raise ValueError(f"entry {item!r} is not 'telegram:<id>' or 'viber:<id>'")
            parsed.add(f"{platform}:{user_id}")
        return frozenset(parsed)

    @field_validator("console_path")
    @classmethod
    def _check_console_path(cls, value: str) -> str:
        path = "/" + value.strip().strip("/")
        if path == "/" or not all(c.isalnum() or c in "/-_." for c in path):
            raise ValueError("must be a path like /console (letters, digits, - _ . /)")
        return path

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "use sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER:PASS@HOST/DB"
            )
        folder = sqlite_folder(value)
        if folder is not None and not folder.is_dir() and not is_default_sqlite_folder(folder):
            # A typo must not scatter folders over the disk: only ./data is made for you.
            raise ValueError(
                f"folder {folder} does not exist; create it first "
                f"(only ./{DEFAULT_SQLITE_FOLDER} is created automatically)"
            )
        return value

    @field_validator("telegram_api_base", "viber_api_base", "public_base_url", "registry_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        if value is not None:
            try:
                host = urlsplit(value).hostname
            except ValueError:
                host = None
            if not host:
                raise ValueError("is not a URL with a host name (https://HOST/…)")
        return value.rstrip("/") if value else value

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        return level

    @field_validator("telegram_token")
    @classmethod
    def _check_telegram_token(cls, value: SecretStr | None) -> SecretStr | None:
        # Said here, before migrations or anything else run; the value itself is not shown.
        if value is not None and not TELEGRAM_TOKEN.fullmatch(value.get_secret_value()):
            raise ValueError("must be the bot token from @BotFather (123456:ABC…)")
        return value

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _check_webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        # Telegram would refuse it at every setWebhook; better to say so once, at start.
        if value is not None and not WEBHOOK_SECRET.fullmatch(value.get_secret_value()):
            raise ValueError("may hold only A-Z, a-z, 0-9, _ and - (1-256 characters)")
        return value

    @field_validator("http_host")
    @classmethod
    def _check_http_host(cls, value: str) -> str:
        if not is_host(value):
            raise ValueError("is not an IP address or a host name (e.g. 127.0.0.1 or 0.0.0.0)")
        return value

    @field_validator("data_dir")
    @classmethod
    def _check_data_dir(cls, value: Path) -> Path:
        # A missing folder would start a bot with no programmes and no offices.
        if not value.is_dir():
            raise ValueError(f"folder {value} does not exist")
        return value

    @model_validator(mode="after")
    def _check_webhook(self) -> Settings:
        if self.telegram_token and self.telegram_mode == "webhook":
            if not self.telegram_webhook_secret:
                raise ValueError("TELEGRAM_WEBHOOK_SECRET is required when TELEGRAM_MODE=webhook")
            if not self.public_base_url:
                raise ValueError("PUBLIC_BASE_URL is required when TELEGRAM_MODE=webhook")
        return self

    @model_validator(mode="after")
    def _mask_secrets_in_logs(self) -> Settings:
        # Whoever builds settings, its secrets are masked in every log line from now on.
        secrets = (
            self.telegram_token,
            self.viber_token,
            self.telegram_webhook_secret,
            self.secret_key,
        )
        for secret in secrets:
            register_secret(secret.get_secret_value() if secret else None)
        for url in (self.database_url, self.registry_url):
            password = urlsplit(url).password if url else None
            register_secret(password)
            register_secret(unquote(password) if password else None)
        return self

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        for name, value in super().__repr_args__():
            hidden = name in ("database_url", "registry_url") and isinstance(value, str)
            yield name, hide_password(value) if hidden else value

    def is_staff(self, platform: str, user_id: str) -> bool:
        return f"{platform}:{user_id}" in self.staff_ids

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def is_host(value: str) -> bool:
    """An IP address, or a host name whose labels RFC 1123 allows (not a dotted number)."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        pass
    else:
        return True
    labels = value.removesuffix(".").split(".")
    if len(value) > 253 or not all(HOST_LABEL.fullmatch(label) for label in labels):
        return False
    return not labels[-1].isdigit()  # 999.1.1.1 is a bad address, not a name


def sqlite_folder(url: str) -> Path | None:
    """The folder of an embedded database file, or None (PostgreSQL, in memory)."""
    prefix = "sqlite+aiosqlite:///"
    if not url.startswith(prefix):
        return None
    database = url.removeprefix(prefix).split("?", 1)[0]
    if database in ("", ":memory:"):
        return None
    return Path(unquote(database)).parent


def hide_password(url: str) -> str:
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning validation errors into one line that names the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "_".join(str(part) for part in first["loc"]).upper()
        message = str(first["msg"]).removeprefix("Value error, ")
        # The input value is deliberately left out: it may be a secret.
        if not name:  # a rule across variables: its message names them
            raise SettingsError(f"invalid settings: {message}") from None
        raise SettingsError(f"invalid setting {name}: {message}") from None
