"""Queue a message for a person, in the same transaction as its cause.

A message can be queued in every language (`translations`): the worker then
sends the version in the language the person uses when it goes out, not the
one they used when it was queued (they may have switched meanwhile).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery.quiet import daytime_from
from bot.engine.events import Reply, reply_to_json
from bot.i18n import LANGUAGES, Translator, translator
from storage.db import mark_enqueued
from storage.models import OutboxMessage

#: a message rendered for one language
Render = Callable[[Translator], Reply | Sequence[Reply]]
#: key of the first reply's JSON holding every language's version of the whole message
BY_LOCALE = "by_locale"


def _as_list(replies: Reply | Sequence[Reply]) -> list[Reply]:
    return [replies] if isinstance(replies, Reply) else list(replies)


def localized_body(
    replies: Reply | Sequence[Reply], translations: Render | None = None
) -> list[dict[str, Any]]:
    """The outbox body: `replies` as queued, plus every language's version to pick from."""
    body = [reply_to_json(r) for r in _as_list(replies)]
    if translations is not None and body:
        body[0][BY_LOCALE] = {
            language: [reply_to_json(r) for r in _as_list(translations(translator(language)))]
            for language in LANGUAGES
        }
    return body


def body_for(body: Sequence[dict[str, Any]], language: str | None) -> list[dict[str, Any]]:
    """The version of a queued message to send to someone who now uses `language`."""
    if body and BY_LOCALE in body[0]:
        versions = body[0][BY_LOCALE]
        if language in versions:
            return list(versions[language])
        first = {k: v for k, v in body[0].items() if k != BY_LOCALE}
        return [first, *body[1:]]
    return list(body)


async def enqueue(
    session: AsyncSession,
    *,
    person_id: int,
    kind: str,
    dedupe_key: str,
    replies: Reply | Sequence[Reply],
    not_before: datetime,
    quiet_hours: bool = False,
    announcement_id: int | None = None,
    translations: Render | None = None,
    not_after: datetime | None = None,
) -> bool:
    """Queue `replies` for the person; False when `dedupe_key` was already queued.

    Render the replies in the person's language before calling, and pass the
    function that rendered them as `translations`: the message then goes out in
    the language the person uses at sending time. With `quiet_hours`, a message
    due at night waits for 08:00 Europe/Kyiv. A `not_before` in the future makes
    it timed work (a reminder): the worker leaves it until then, and skips it
    as expired once `not_after` has passed. After the
    transaction commits, the worker(s) of this process are woken: the caller
    does nothing more.
    """
    due = daytime_from(not_before) if quiet_hours else not_before
    values = {
        "person_id": person_id,
        "kind": kind,
        "dedupe_key": dedupe_key,
        "announcement_id": announcement_id,
        "body": localized_body(replies, translations),
        "state": "pending",
        "attempts": 0,
        "not_before": due,
        "not_after": not_after,
        "reason": "",
        "created_at": not_before,
    }
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(OutboxMessage)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(OutboxMessage.id)
    )
    result = await session.execute(statement)
    if result.scalar_one_or_none() is None:
        return False
    mark_enqueued(session, due)  # the commit wakes this process's worker(s) when it is due
    return True
