"""Nearest offices to a shared location (great-circle distance), and whether a shared
location can be in Ukraine at all."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from math import asin, cos, isfinite, radians, sin, sqrt

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


class Place(StrEnum):
    UKRAINE = "ukraine"
    ABROAD = "abroad"
    IMPOSSIBLE = "impossible"  # not a point on Earth (latitude 91, longitude 200)


# Ukraine's borders, coarsely (longitude, latitude), clockwise from the Slovak border;
# Crimea included. Good to ~20 km: near a border the nearest office decides (NEAR_KM).
_BORDER = (
    (22.56, 49.08), (22.14, 48.41), (22.88, 47.95), (24.90, 47.72), (26.62, 48.26),
    (27.55, 48.47), (29.20, 47.99), (29.90, 46.55), (28.95, 46.45), (28.20, 45.45),
    (28.80, 45.25), (29.75, 45.15), (30.80, 46.55), (31.75, 46.30), (32.45, 45.35),
    (33.35, 44.55), (33.75, 44.30), (34.20, 44.35), (35.00, 44.70), (35.50, 44.90),
    (36.65, 45.35), (35.00, 46.10), (37.50, 47.05), (38.25, 47.10),
    (39.80, 47.85), (40.20, 49.60), (38.20, 50.05), (35.40, 50.60), (34.40, 51.25),
    (35.40, 52.20), (33.20, 52.38), (31.80, 52.10), (30.60, 51.30), (28.00, 51.60),
    (25.70, 51.95), (23.60, 51.55), (24.10, 50.80), (23.40, 50.40), (22.60, 49.50),
)  # fmt: skip
NEAR_KM = 50.0


def _inside(lon: float, lat: float) -> bool:
    """Ray casting: does the coarse border enclose the point?"""
    inside = False
    points = _BORDER
    for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1], strict=True):
        if (y1 > lat) != (y2 > lat) and lon < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def place_of(lat: float, lon: float, offices: Iterable[Office] = ()) -> Place:
    """Where a shared location is, as far as offering offices goes.

    Inside the coarse border, or within NEAR_KM of an office, counts as Ukraine.
    """
    if not (isfinite(lat) and isfinite(lon)) or abs(lat) > 90 or abs(lon) > 180:
        return Place.IMPOSSIBLE
    if _inside(lon, lat):
        return Place.UKRAINE
    near = nearest(offices, lat, lon, 1)
    return Place.UKRAINE if near and near[0][1] <= NEAR_KM else Place.ABROAD
