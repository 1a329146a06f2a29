"""Demo content for `make demo`: one small office fully booked, to try the waiting list."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.resources import Resources
from bot.services.booking.appointments import BOOKING_DAYS, block_seats
from bot.settings import Settings

FULL_OFFICE = "pavlohrad-cnap"


async def booking_demo(
    session: AsyncSession, *, now: datetime, resources: Resources, settings: Settings
) -> str:
    catalog = resources.offices
    if catalog.office(FULL_OFFICE) is None:
        return f"booking: {len(catalog.offices)} offices (no {FULL_OFFICE} to fill)"
    # One day beyond the window, so the office stays full while the demo runs past midnight.
    taken = await block_seats(session, catalog, FULL_OFFICE, now, BOOKING_DAYS + 1)
    return (
        f"booking: {len(catalog.offices)} offices; {FULL_OFFICE} is fully booked for "
        f"{BOOKING_DAYS} days to try the waiting list ({taken} places newly taken)"
    )
