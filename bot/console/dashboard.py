"""Dashboard: the numbers of `python -m bot stats` as charts, drawn on the server as SVG.

No chart library and no internet: each chart is a handful of rectangles computed
here (`bars`), drawn by the template, with the same numbers in its text
alternative for screen readers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from aiohttp import web

from bot.console.pages import NavItem, Page
from bot.console.web import console, render, tr_of
from bot.delivery.quiet import KYIV
from bot.i18n import N_, Translator
from bot.resources import Resources
from bot.services.stats.counting import Period, collect
from bot.services.stats.report import DIALOGS, LANGUAGES, _office, _programme, duration

routes = web.RouteTableDef()
PATH = "/dashboard"
CONSOLE_PAGE = Page(NavItem("dashboard", N_("Dashboard"), PATH, 10), routes)
DEFAULT_DAYS = 30
#: chart geometry, in SVG units
LABEL_WIDTH, BAR_WIDTH, ROW, VALUE_WIDTH = 260, 360, 26, 60


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: int
    y: int
    width: int
    series: int = 0


@dataclass(frozen=True, slots=True)
class Chart:
    key: str
    title: str
    bars: list[Bar]
    height: int
    legend: list[str]

    @property
    def description(self) -> str:
        return "; ".join(f"{bar.label}: {bar.value}" for bar in self.bars) or "—"


def bars(key: str, title: str, rows: list[tuple[str, list[int]]], legend: list[str]) -> Chart:
    """Horizontal bars, one row per label, one bar per series, scaled to the largest value."""
    largest = max((v for _, values in rows for v in values), default=0) or 1
    drawn: list[Bar] = []
    y = 0
    for label, values in rows:
        for series, value in enumerate(values):
            width = round(BAR_WIDTH * value / largest)
            drawn.append(Bar(label if series == 0 else "", value, y, width, series))
            y += ROW
        y += 6
    return Chart(key, title, drawn, max(y, ROW), legend)


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def charts(stats: dict[str, Any], resources: Resources, tr: Translator) -> list[Chart]:
    funnel = [
        (tr._(DIALOGS.get(name, name)), [c["started"], c["completed"]])
        for name, c in stats["funnel"].items()
    ]
    people = stats["people"]
    platforms = [(p.capitalize(), [n]) for p, n in people["by_platform"].items()]
    languages = [
        (tr._(LANGUAGES.get(code, code)), [n]) for code, n in people["by_language"].items()
    ]
    results = [
        (_programme(resources, p, tr), [n]) for p, n in stats["eligibility_results"].items()
    ]
    offices = [
        (_office(resources, o, tr), [c["booked"], c["cancelled"], c.get("no_shows") or 0])
        for o, c in stats["bookings"].items()
    ]
    ratings = [(f"{n} ★", [count]) for n, count in stats["cases"]["satisfaction"].items()]
    return [
        bars(
            "funnel",
            tr._("Dialogs: started and completed"),
            funnel,
            [tr._("started"), tr._("completed")],
        ),
        bars("platforms", tr._("People by messenger"), platforms, []),
        bars("languages", tr._("People by language"), languages, []),
        bars("results", tr._("Eligibility results by programme"), results, []),
        bars(
            "bookings",
            tr._("Appointments per office"),
            offices,
            [tr._("booked"), tr._("cancelled"), tr._("did not come")],
        ),
        bars("satisfaction", tr._("Satisfaction with answers to cases"), ratings, []),
    ]


@routes.get(PATH)
async def page(request: web.Request) -> web.Response:
    c = console(request)
    tr = tr_of(request)
    today = c.now().astimezone(KYIV).date()
    first = _day(request.query.get("from", "")) or today - timedelta(days=DEFAULT_DAYS - 1)
    last = _day(request.query.get("to", "")) or today
    if last < first:
        first, last = last, first
    period = Period(
        start=datetime.combine(first, time(), KYIV),
        end=datetime.combine(last + timedelta(days=1), time(), KYIV),
    )
    async with c.app.db.transaction() as session:
        stats = await collect(session, period)
    cases = stats["cases"]
    return render(
        request,
        "dashboard.html",
        title=tr._("Dashboard"),
        first=first.isoformat(),
        last=last.isoformat(),
        charts=charts(stats, c.app.resources, tr),
        cases=cases,
        first_answer=duration(tr, cases["median_first_answer_seconds"]),
        to_close=duration(tr, cases["median_close_seconds"]),
        announcements=stats["announcements"],
        geometry={"label": LABEL_WIDTH, "bar": BAR_WIDTH, "row": ROW, "value": VALUE_WIDTH},
    )
