"""STAFF_CHAT_ID: new cases posted to a staff group on Telegram (filled in below)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.engine import Context
    from storage.models.cases import Case


async def post_new_case(ctx: Context, case: Case) -> None:
    """Post the new case to the staff group, when one is configured."""
    return None
