"""Night-time rule for messages nobody asked for right now (status changes)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

KYIV = ZoneInfo("Europe/Kyiv")
MORNING = time(8, 0)
NIGHT = time(22, 0)


def daytime_from(at: datetime, tz: ZoneInfo = KYIV) -> datetime:
    """`at` itself during the day; otherwise the next 08:00 local time (as an aware datetime).

    Between 22:00 and 08:00 Europe/Kyiv people are asleep: a status change can wait.
    """
    local = at.astimezone(tz)
    if MORNING <= local.time() < NIGHT:
        return at
    day = local.date() if local.time() < MORNING else local.date() + timedelta(days=1)
    return datetime.combine(day, MORNING, tzinfo=tz).astimezone(at.tzinfo)
