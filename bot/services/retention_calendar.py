"""The one calendar rule of every retention period (people, cases): whole months back.

A module of its own so that a feature's purge (cases) and the retention job that
calls it can both use it without importing each other.
"""

from __future__ import annotations

import calendar
from datetime import datetime

__all__ = ["months_before"]


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time `months` earlier (31 March - 1 month = 28/29 February)."""
    year, month_index = divmod(moment.year * 12 + moment.month - 1 - months, 12)
    day = min(moment.day, calendar.monthrange(year, month_index + 1)[1])
    return moment.replace(year=year, month=month_index + 1, day=day)
