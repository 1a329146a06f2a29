"""The few Bot API calls on the hot path, as plain JSON on aiogram's own HTTP session.

Every answer costs a sendMessage, every button press an answerCallbackQuery. Through
aiogram each builds a pydantic method, form-encodes it field by field, and validates
the whole answer into models (the sent message, its chat, its sender, its keyboard)
of which the bot reads one number. Here the body is the JSON the Bot API documents,
and the answer is read for what the caller needs.

A refusal is turned into aiogram's exception by aiogram's own `check_response`, so
flood control (`retry_after`), blocked chats and bad requests reach the retry policy,
the metrics and the delivery outcomes exactly as they did. Anything this cannot do as
aiogram would (another session class, request middlewares, bot-wide defaults) makes
the caller use aiogram (`usable`).
"""

from __future__ import annotations

import json
from typing import Any

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import ClientDecodeError, TelegramAPIError, TelegramNetworkError
from aiogram.methods import TelegramMethod
from aiohttp import ClientError, ClientTimeout

JSON_HEADERS = {"Content-Type": "application/json"}


def usable(bot: Bot) -> bool:
    """Whether a plain JSON call sends exactly what aiogram would send for this bot."""
    session = bot.session
    return (
        isinstance(session, AiohttpSession)
        and len(session.middleware) == 0
        # a bot-wide default (parse_mode, protect_content …) would be added by aiogram
        and bot.default == DefaultBotProperties()
    )


async def call(bot: Bot, method: type[TelegramMethod[Any]], payload: dict[str, Any]) -> Any:
    """POST `payload` to `method`; its `result`, or aiogram's exception for a refusal."""
    session = bot.session
    assert isinstance(session, AiohttpSession)
    client = await session.create_session()
    url = session.api.api_url(token=bot.token, method=method.__api_method__)
    body = json.dumps(payload, ensure_ascii=False).encode()
    try:
        async with client.post(
            url, data=body, headers=JSON_HEADERS, timeout=ClientTimeout(total=session.timeout)
        ) as response:
            raw = await response.read()
    except TimeoutError as exc:  # aiogram's own words, so logs and outcomes stay the same
        raise TelegramNetworkError(
            method=_method(method, payload), message="Request timeout error"
        ) from exc
    except ClientError as exc:
        raise TelegramNetworkError(
            method=_method(method, payload), message=f"{type(exc).__name__}: {exc}"
        ) from exc
    if response.status == 200:
        try:
            answer = json.loads(raw)  # bytes: no charset sniffing for the usual answer
        except ValueError:
            answer = None
        if isinstance(answer, dict) and answer.get("ok") is True and "result" in answer:
            return answer["result"]
    content = raw.decode(response.get_encoding())
    # Raises the exception aiogram raises for this answer (429, 403, 400, 5xx, not JSON …).
    session.check_response(
        bot=bot, method=_method(method, payload), status_code=response.status, content=content
    )
    try:  # aiogram accepted it (another 2xx): the result is in it all the same
        return json.loads(content)["result"]
    except (ValueError, KeyError, TypeError) as exc:
        raise TelegramAPIError(
            method=_method(method, payload), message="unexpected answer"
        ) from exc


def message_id(result: Any) -> int:
    """The id of the message a send or an edit answered with."""
    if isinstance(result, dict) and type(result.get("message_id")) is int:
        return int(result["message_id"])
    # What aiogram says when an answer does not fit its model.
    raise ClientDecodeError("Failed to deserialize object", ValueError("message_id"), result)


def _method(method: type[TelegramMethod[Any]], payload: dict[str, Any]) -> TelegramMethod[Any]:
    # Only for the exception (which call failed): never validated, never sent.
    return method.model_construct(**payload)
