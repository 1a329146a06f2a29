"""Webhook bodies as JSON, refused when malformed or nested deeper than any real callback.

Python's parser recurses once per level: a body of a hundred thousand `[` raises
RecursionError, which no `except ValueError` catches, and a 500 makes Viber and
Telegram send the same body again and again. Real Telegram updates and Viber
callbacks are a handful of levels deep; anything past `MAX_DEPTH` is not one.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 32


class BadBody(ValueError):
    """Not JSON, or JSON no messenger sends."""


def parse(body: bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise BadBody("not JSON") from None
    if depth_exceeds(data, max_depth):
        raise BadBody(f"nested deeper than {max_depth} levels")
    return data


def depth_exceeds(data: Any, limit: int) -> bool:
    """Whether `data` nests more than `limit` lists/objects; iterative, so it cannot recurse."""
    pending: list[tuple[Any, int]] = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False
