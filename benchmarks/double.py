"""The tests' strict Bot API double, plus what a benchmark needs from it.

Each message the bot sends or edits is also handed to a per-chat queue, so a
simulated person waits for their own answer without scanning everyone's.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import aiohttp

from tests.doubles.telegram_api import Sent, TelegramApiDouble

CONNECT_ATTEMPTS = 50


class BenchDouble(TelegramApiDouble):
    def __post_init__(self) -> None:
        super().__post_init__()
        self.inboxes: dict[int, asyncio.Queue[Sent]] = {}
        self.send_times: list[float] = []  # time.monotonic() of every sendMessage accepted
        #: webhook mode with several workers behind one address: each update goes to the
        #: next of these in turn, as a round-robin proxy in front of them would send it
        self.endpoints: list[str] = []
        self._turns = itertools.count()

    def inbox(self, chat_id: int) -> asyncio.Queue[Sent]:
        return self.inboxes.setdefault(chat_id, asyncio.Queue())

    def forget_history(self) -> None:
        """Between runs: the next bot starts on a clean record."""
        self.calls.clear()
        self.forget_sent()
        self.send_times.clear()
        self.inboxes.clear()

    def forget_webhook(self) -> None:
        """Between bots: nobody has set a webhook yet (the next one may poll)."""
        self.endpoints = []
        self.webhook_url, self.webhook_secret = "", None

    async def post_webhook(
        self, update_id: int, *, secret: str | None = None, url: str | None = None
    ) -> int:
        if url is None and self.endpoints:
            url = self.endpoints[next(self._turns) % len(self.endpoints)]
        # Like Telegram, try again when the bot cannot be reached (one that has just
        # set its webhook may not listen yet).
        for _ in range(CONNECT_ATTEMPTS - 1):
            try:
                return await super().post_webhook(update_id, secret=secret, url=url)
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.1)
        return await super().post_webhook(update_id, secret=secret, url=url)

    async def _api_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        result = await super()._api_sendMessage(params)
        sent = self.sent[-1]
        self.send_times.append(sent.at)
        self.inbox(sent.chat_id).put_nowait(sent)
        return result

    async def _api_editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        # The buttons put back after a reply keyboard was removed: the answer is complete now.
        result = await super()._api_editMessageReplyMarkup(params)
        sent = self._find_sent(params)
        self.inbox(sent.chat_id).put_nowait(sent)
        return result
