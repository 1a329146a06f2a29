"""What a signed Viber callback may carry as a person's id or a message token.

The signature proves Viber sent the body, not that every field is what Viber
documents. A sender id of null, an object or 5,000 characters must not become
a stored person (the text "None" would be one person shared by every such
callback), so such a callback is refused as malformed.
"""

from __future__ import annotations

import re

# Viber ids are base64 (letters, digits, + / =); - and _ cover the URL-safe form.
USER_ID = re.compile(r"[A-Za-z0-9+/=_-]{1,64}")
MESSAGE_TOKEN = re.compile(r"-?\d{1,24}")


def user_id(value: object) -> str:
    if not isinstance(value, str) or not USER_ID.fullmatch(value):
        raise ValueError("not a Viber user id")
    return value


def message_token(value: object) -> str:
    """Viber's message tokens are 64-bit integers (a string of digits is accepted too)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("not a Viber message token")
    token = str(value)
    if not MESSAGE_TOKEN.fullmatch(token):
        raise ValueError("not a Viber message token")
    return token
