"""Demo content for `make demo`: one small office fully booked, to try the waiting list."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.demo import demo_seeder
from bot.services.booking.appointments import BOOKING_DAYS, block_seats
from bot.services.booking.reminders import catalog_of

if TYPE_CHECKING:
    from bot.app import App

FULL_OFFICE = "pavlohrad-cnap"


@demo_seeder
async def booking_demo(app: App) -> str:
    catalog = catalog_of(app.runtime)
    if catalog.office(FULL_OFFICE) is None:
        return f"booking: {len(catalog.offices)} offices (no {FULL_OFFICE} to fill)"
    async with app.db.transaction() as session:
        # One day beyond the window, so the office stays full while the demo runs past midnight.
        taken = await block_seats(
            session, catalog, FULL_OFFICE, app.runtime.now(), BOOKING_DAYS + 1
        )
    return (
        f"booking: {len(catalog.offices)} offices; {FULL_OFFICE} is fully booked for "
        f"{BOOKING_DAYS} days to try the waiting list ({taken} places newly taken)"
    )
