"""The console's pages: each feature lists its own in its manifest entry (`bot.app.FEATURES`).

A page module builds a `web.RouteTableDef` and a `Page` naming its place in the
menu; the console serves the pages of the features the bot was built with, so
a feature left out of the manifest has no page either.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from aiohttp import web


@dataclass(frozen=True, slots=True)
class NavItem:
    key: str
    #: an N_() msgid, translated when the menu is drawn
    title: str
    path: str
    order: int


@dataclass(frozen=True, slots=True)
class Page:
    nav: NavItem
    routes: web.RouteTableDef


def menu(pages: Iterable[Page]) -> list[NavItem]:
    return sorted((page.nav for page in pages), key=lambda item: item.order)
