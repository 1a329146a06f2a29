"""Viber's sending side for the outbox (and for replies to a person's message).

Viber may only be written to by people who subscribed (or wrote first); status 6
means they left, so the person is marked unsubscribed (through the `Subscribers`
port, bot/ports.py) and nobody writes to them again until their next message
(the engine marks them subscribed then).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

from bot.delivery.messenger import DeliveryResult, Outcome
from bot.engine.events import Reply
from bot.metrics import Metrics
from bot.ports import Subscribers
from handlers.viber import render
from handlers.viber.client import BROADCAST_LIMIT, Status, ViberClient, ViberUnavailable

log = logging.getLogger(__name__)

PLATFORM = "viber"
#: Viber gives no hint after status 12; an hour is its window for unanswered messages
RETRY_AFTER_TOO_MANY = 60.0

SENT = DeliveryResult(Outcome.SENT)
NOT_SUBSCRIBED = DeliveryResult(Outcome.BLOCKED, reason="viber:6")


def outcome_of(status: int) -> DeliveryResult:
    """Viber's status for one receiver as the outbox understands it."""
    if status == Status.OK:
        return SENT
    if status in (Status.RECEIVER_NOT_SUBSCRIBED, Status.RECEIVER_NOT_REGISTERED):
        return DeliveryResult(Outcome.BLOCKED, reason=f"viber:{int(status)}")
    if status == Status.TOO_MANY_REQUESTS:
        return DeliveryResult(
            Outcome.RATE_LIMITED, retry_after=RETRY_AFTER_TOO_MANY, reason=f"viber:{int(status)}"
        )
    return DeliveryResult(Outcome.FAILED, reason=f"viber:{int(status)}")


UNAVAILABLE = DeliveryResult(Outcome.TRANSIENT, reason="viber:unavailable")


def sent_as(token: int | None) -> DeliveryResult:
    """Sent; the last message's token lets delivered/seen receipts be counted per announcement."""
    return DeliveryResult(Outcome.SENT, ref=str(token)) if token is not None else SENT


class ViberMessenger:
    platform = PLATFORM
    max_batch = BROADCAST_LIMIT

    def __init__(
        self,
        client: ViberClient,
        people: Subscribers,
        *,
        sender_name: str,
        metrics: Metrics | None = None,
    ) -> None:
        self.client = client
        self.people = people
        self.sender_name = sender_name
        self.metrics = metrics or Metrics()

    # -- the Messenger protocol ---------------------------------------------------
    async def deliver(self, user_id: str, replies: Sequence[Reply]) -> DeliveryResult:
        left, levels = await self._receivers([user_id])
        if left:
            return self._count(NOT_SUBSCRIBED)
        return await self._send(user_id, replies, levels.get(user_id))

    async def deliver_many(
        self, user_ids: Sequence[str], reply: Reply
    ) -> dict[str, DeliveryResult]:
        if len(user_ids) > self.max_batch:
            raise ValueError(f"at most {self.max_batch} receivers at once")
        results: dict[str, DeliveryResult] = {}
        left, levels = await self._receivers(user_ids)
        for user_id in left:
            results[user_id] = NOT_SUBSCRIBED
        pending = list(dict.fromkeys(u for u in user_ids if u not in left))
        # A message may not ask more than a receiver's client supports (status 13):
        # one broadcast per kind of client, each with the keyboard it can show (kinds
        # that get the same messages share one).
        tiers: dict[int, list[str]] = {}
        for user_id in pending:
            tiers.setdefault(render.tier(levels.get(user_id)), []).append(user_id)
        groups: dict[str, tuple[list[render.Message], list[str]]] = {}
        for level, receivers in sorted(tiers.items(), reverse=True):
            bodies = render.messages([reply], self.sender_name, api_version=level)
            key = json.dumps(bodies, sort_keys=True)
            groups.setdefault(key, (bodies, []))[1].extend(receivers)
        for bodies, receivers in groups.values():
            results.update(await self._broadcast(receivers, bodies))
        await self._remember(list(results.items()))
        for result in results.values():
            self._count(result)
        return results

    async def _broadcast(
        self, pending: list[str], bodies: list[render.Message]
    ) -> dict[str, DeliveryResult]:
        results: dict[str, DeliveryResult] = {}
        token: int | None = None
        for body in bodies:
            if not pending:
                break
            try:
                response = await self.client.broadcast_message(pending, body)
            except ViberUnavailable:
                results.update(dict.fromkeys(pending, UNAVAILABLE))
                return results
            if not response.ok:
                results.update(dict.fromkeys(pending, outcome_of(response.status)))
                return results
            ours = set(pending)
            for failure in response.failed:
                if failure.receiver in ours:
                    results[failure.receiver] = outcome_of(failure.status)
            pending = [u for u in pending if u not in results]
            token = response.message_token
        results.update(dict.fromkeys(pending, sent_as(token)))
        return results

    # -- replies to a person who just wrote ----------------------------------------
    async def send_replies(
        self, user_id: str, replies: Sequence[Reply], *, api_version: int | None = None
    ) -> DeliveryResult:
        """Answer a message: the person just wrote, so they are subscribed again.

        `api_version` is their client's, from the callback; without it, the stored one.
        """
        if api_version is None:
            api_version = (await self._receivers([user_id]))[1].get(user_id)
        return await self._send(user_id, replies, api_version)

    async def _send(
        self, user_id: str, replies: Sequence[Reply], api_version: int | None
    ) -> DeliveryResult:
        result = SENT
        for body in render.messages(replies, self.sender_name, api_version=api_version):
            try:
                response = await self.client.send_message(user_id, body)
            except ViberUnavailable:
                result = UNAVAILABLE
                break
            result = outcome_of(response.status)
            if not result.ok:
                break
            result = sent_as(response.message_token)
        await self._remember([(user_id, result)])
        return self._count(result)

    # -- bookkeeping --------------------------------------------------------------
    def _count(self, result: DeliveryResult) -> DeliveryResult:
        self.metrics.sends.labels(PLATFORM, result.outcome.value).inc()
        if not result.ok:
            self.metrics.send_errors.labels(PLATFORM, result.reason or "unknown").inc()
        return result

    async def _receivers(self, user_ids: Sequence[str]) -> tuple[set[str], dict[str, int | None]]:
        """Who left us (unsubscribed callback or status 6: never written to until they
        return), and the API level of each known person's Viber client."""
        known = await self.people.receivers(PLATFORM, list(user_ids)) if user_ids else {}
        left = {user_id for user_id, receiver in known.items() if not receiver.subscribed}
        return left, {user_id: receiver.api_version for user_id, receiver in known.items()}

    async def _remember(self, results: Sequence[tuple[str, DeliveryResult]]) -> None:
        left = [
            u for u, r in results if r.reason == f"viber:{int(Status.RECEIVER_NOT_SUBSCRIBED)}"
        ]
        gone = [
            u for u, r in results if r.reason == f"viber:{int(Status.RECEIVER_NOT_REGISTERED)}"
        ]
        if not left and not gone:
            return
        await self.people.mark_unsubscribed(PLATFORM, left)
        for user_id in gone:  # left Viber altogether: rare, one at a time is fine
            await self.people.mark_unreachable(PLATFORM, user_id)
        log.info("Viber: %d unsubscribed, %d no longer on Viber", len(left), len(gone))
