"""The console's pages: each feature module registers its routes and its place in the menu.

A page module builds a `web.RouteTableDef` and calls `register(...)`; the
console imports every module in `PAGE_MODULES`. The Cases inbox and the
Dashboard plug in the same way (``bot.console.cases``, ``bot.console.dashboard``)
once their services exist: nothing else in the console changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

PAGE_MODULES: list[str] = [
    "bot.console.dashboard",
    "bot.console.cases",
    "bot.console.announcements",
    "bot.console.statuses",
    "bot.console.appointments",
    "bot.console.audit",
]


@dataclass(frozen=True, slots=True)
class NavItem:
    key: str
    #: an N_() msgid, translated when the menu is drawn
    title: str
    path: str
    order: int


NAV: dict[str, NavItem] = {}
ROUTES: dict[str, web.RouteTableDef] = {}


def register(item: NavItem, routes: web.RouteTableDef) -> None:
    NAV[item.key] = item
    ROUTES[item.key] = routes


def menu() -> list[NavItem]:
    return sorted(NAV.values(), key=lambda item: item.order)
