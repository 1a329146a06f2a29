"""Realistic walks through the dialogs, as event sequences for the engine."""

from __future__ import annotations

import random

from bot.engine import Engine, Incoming, Kind, Reply


def _press(replies: list[Reply], needle: str) -> str | None:
    wanted = needle.casefold()
    for reply in replies:
        for row in reply.buttons:
            for button in row:
                if wanted in button.label.casefold():
                    return button.payload
    return None


async def walk(
    engine: Engine, user_id: str, rng: random.Random, steps: int, platform: str = "bench"
) -> list[float]:
    """One person: onboard, then wander the menu by pressing offered buttons. Returns latencies."""
    import time

    latencies: list[float] = []

    async def send(kind: Kind, *, text: str = "", payload: str = "") -> list[Reply]:
        started = time.perf_counter()
        replies = await engine.handle(
            Incoming(platform=platform, user_id=user_id, kind=kind, text=text, payload=payload)
        )
        latencies.append(time.perf_counter() - started)
        return replies

    replies = await send(Kind.COMMAND, text="/start")
    language = rng.choice(["English", "Українська"])
    replies = await send(Kind.BUTTON, payload=_press(replies, language) or "")
    replies = await send(Kind.BUTTON, payload=_press(replies, "✅") or "")
    for _ in range(steps):
        offered = [b.payload for r in replies for row in r.buttons for b in row]
        if offered and rng.random() < 0.85:
            replies = await send(Kind.BUTTON, payload=rng.choice(offered))
        else:
            replies = await send(
                Kind.TEXT, text=rng.choice(["12", "так", "menu", "1984-03-15", "привіт"])
            )
    return latencies
