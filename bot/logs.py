"""Logging set-up with redaction: no token, phone, application number or birth date in clear.

Dialogs never log personal data in the first place; this filter is the second
line of defence for what libraries print (URLs with tokens, exception texts).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

# A Ukrainian number however it is written: +380671234567, 380 67 123 45 67,
# +38 (067) 123-45-67, 067 123 45 67, 0 67 123 45 67.
PHONE = re.compile(
    r"(?<![\w+])(?:\+?\s?3\s?8\s?)?\(?0\s?\d\d\)?[\s-]?\d{3}[\s-]?\d{2}[\s-]?\d{2}(?!\d)"
)

PATTERNS = [
    (re.compile(r"bot\d{3,}:[A-Za-z0-9_-]{10,}"), "bot<token>"),  # Telegram token in URLs
    (re.compile(r"\b\d{6,}:[A-Za-z0-9_-]{20,}\b"), "<token>"),
    (re.compile(r"\b[0-9a-f]{16}-[0-9a-f]{16}-[0-9a-f]{16}\b"), "<token>"),  # Viber token
    (PHONE, "<phone>"),
    (re.compile(r"\b[A-ZА-ЯІЇЄҐ]{2,5}-\d{4}-\d{4,8}\b", re.IGNORECASE), "<application>"),
    (re.compile(r"\b(19|20)\d\d-\d\d-\d\d\b|\b\d{1,2}[./]\d{1,2}[./](19|20)\d\d\b"), "<date>"),
]

# Libraries that log SQL with its parameters (a birth date, an application number)
# at DEBUG/INFO: never more verbose than WARNING, whatever LOG_LEVEL says.
PARAMETER_LOGGERS = ("sqlalchemy.engine", "sqlalchemy.pool", "aiosqlite", "asyncpg")

_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Exact secrets (tokens, passwords) are always masked, whatever their shape."""
    if value and len(value) >= 6:
        _secrets.add(value)


def redact(text: str) -> str:
    for secret in _secrets:
        text = text.replace(secret, "<secret>")
    for pattern, replacement in PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg = redact(message)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(level: str = "INFO", fmt: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in PARAMETER_LOGGERS:
        logging.getLogger(name).setLevel(max(root.level, logging.WARNING))
