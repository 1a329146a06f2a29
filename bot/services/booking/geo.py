"""Nearest offices to a shared location (great-circle distance)."""

from __future__ import annotations

from collections.abc import Iterable
from math import asin, cos, radians, sin, sqrt

from bot.services.booking.model import Office

EARTH_RADIUS_KM = 6371.0088


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = radians(lat1), radians(lat2)
    dphi, dlambda = radians(lat2 - lat1), radians(lon2 - lon1)
    a = sin(dphi / 2) ** 2 + cos(phi1) * cos(phi2) * sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * asin(min(1.0, sqrt(a)))


def nearest(
    offices: Iterable[Office], lat: float, lon: float, limit: int = 3
) -> list[tuple[Office, float]]:
    """The `limit` closest offices with their distance in km, closest first (ties by id)."""
    ranked = sorted(
        ((o, haversine_km(lat, lon, o.location.lat, o.location.lon)) for o in offices),
        key=lambda pair: (pair[1], pair[0].id),
    )
    return ranked[:limit]
