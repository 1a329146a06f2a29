"""The one server secret (`SECRET_KEY`) and the keyed hashes made with it.

Records that must outlive a person's erasure (status-lookup lockouts) or must not be
linkable back to a messenger id (Viber receipts) are keyed by an HMAC of the value,
never the value itself. Without the key nobody — not even someone holding a database
dump and a list of Viber ids — can tell whose record it is.

When `SECRET_KEY` is not set, a random key is generated once and kept in a file
beside the embedded database (`data/secret_key` by default), readable by its owner
only. Several processes sharing one database must all be given the same
`SECRET_KEY` explicitly: each would otherwise generate its own.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy.engine import make_url

from bot.logs import register_secret
from bot.settings import Settings

log = logging.getLogger(__name__)

KEY_FILE_NAME = "secret_key"
MIN_LENGTH = 32


def key_file(settings: Settings) -> Path:
    """Where a generated key lives: beside the SQLite file, else in ./data."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).parent / KEY_FILE_NAME
    return Path("data") / KEY_FILE_NAME


def ensure_secret_key(settings: Settings) -> Settings:
    """Settings with `secret_key` filled in: the configured one, or the kept/generated one."""
    if settings.secret_key is not None:
        return settings
    path = key_file(settings)
    if path.is_file():
        value = path.read_text(encoding="utf-8").strip()
        if len(value) < MIN_LENGTH:
            raise ValueError(f"the secret key file {path} is too short; delete it to regenerate")
    else:
        value = secrets.token_urlsafe(48)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written with owner-only rights from the start, never world-readable for a moment.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(value + "\n")
        log.warning(
            "SECRET_KEY is not set: generated one and kept it in %s. "
            "Set SECRET_KEY explicitly when several processes share one database.",
            path,
        )
    register_secret(value)
    return settings.model_copy(update={"secret_key": SecretStr(value)})


def keyed_hash(settings: Settings, purpose: str, value: str) -> str:
    """HMAC-SHA256 of `value`, separated by `purpose` so one hash never stands for another."""
    if settings.secret_key is None:
        raise RuntimeError("SECRET_KEY is not loaded: build the app with ensure_secret_key")
    key = settings.secret_key.get_secret_value().encode()
    message = purpose.encode() + b"\x1f" + value.encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()
