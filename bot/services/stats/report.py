"""The statistics as text, in the reader's language (staff menu, `python -m bot stats`)."""

from __future__ import annotations

from typing import Any

from bot.i18n import N_, Translator
from bot.resources import Resources
from bot.services.booking.model import OfficeCatalog
from bot.services.eligibility.model import Eligibility

DIALOGS = {
    "eligibility": N_("Eligibility check"),
    "status": N_("Application status"),
    "booking": N_("Booking"),
    "cases": N_("Ask a specialist"),
}
LANGUAGES = {"uk": N_("Ukrainian"), "en": N_("English"), "unknown": N_("not chosen yet")}


def duration(tr: Translator, seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 3600:
        minutes = max(1, round(seconds / 60))
        return tr.n_("{n} minute", "{n} minutes", minutes)
    if seconds < 48 * 3600:
        return tr.n_("{n} hour", "{n} hours", round(seconds / 3600))
    return tr.n_("{n} day", "{n} days", round(seconds / 86400))


def _programme(resources: Resources, programme_id: str, tr: Translator) -> str:
    data = resources.eligibility
    if programme_id == "none":
        return tr._("no programme found")
    if isinstance(data, Eligibility):
        for programme in data.programmes:
            if programme.id == programme_id:
                return programme.title(tr.language)
    return programme_id


def _office(resources: Resources, office_id: str, tr: Translator) -> str:
    catalog = resources.offices
    office = catalog.office(office_id) if isinstance(catalog, OfficeCatalog) else None
    return office.name.in_(tr.language) if office else office_id


def render(stats: dict[str, Any], resources: Resources, tr: Translator) -> str:
    period = stats["period"]
    if period["from"] or period["to"]:
        head = tr._(
            "Period: {start} – {end}",
            start=period["from"][:10] if period["from"] else "…",
            end=period["to"][:10] if period["to"] else "…",
        )
    else:
        head = tr._("Period: all time")
    people = stats["people"]
    platforms = ", ".join(f"{p.capitalize()} {n}" for p, n in people["by_platform"].items())
    languages = ", ".join(
        f"{tr._(LANGUAGES.get(code, code))} {n}" for code, n in people["by_language"].items()
    )
    lines = [head, "", tr._("People: {n}", n=people["total"])]
    if people["total"]:
        lines.append(f"  {platforms}; {languages}")
    lines += ["", tr._("Dialogs, started → completed:")]
    for dialog, counts in stats["funnel"].items():
        lines.append(
            f"  • {tr._(DIALOGS.get(dialog, dialog))}: {counts['started']} → {counts['completed']}"
        )
    lines += ["", tr._("Eligibility results:")]
    results = stats["eligibility_results"]
    lines += [f"  • {_programme(resources, p, tr)}: {n}" for p, n in results.items()] or ["  —"]
    lines += ["", tr._("Appointments per office (booked, cancelled, moved, no-shows):")]
    offices = stats["bookings"]
    lines += [
        f"  • {_office(resources, o, tr)}: "
        f"{c['booked']}, {c['cancelled']}, {c['moved']}, {c['no_shows']}"
        for o, c in offices.items()
    ] or ["  —"]
    a = stats["announcements"]
    lines += [
        "",
        tr._(
            "Announcements: {n}; messages {messages}: sent {sent}, delivered {delivered}, "
            "failed {failed}, blocked {blocked}, skipped {skipped}, still sending {pending}",
            n=a["announcements"],
            messages=a["messages"],
            sent=a["sent"],
            delivered=a["delivered"],
            failed=a["failed"],
            blocked=a["blocked"],
            skipped=a["skipped"],
            pending=a["pending"],
        ),
    ]
    c = stats["cases"]
    ratings = " ".join(f"{n}★ {count}" for n, count in c["satisfaction"].items())
    lines += [
        "",
        tr._(
            "Cases: opened {opened}, open now {open_now}, answered {answered}, closed {closed}",
            opened=c["opened"],
            open_now=c["open_now"],
            answered=c["answered"],
            closed=c["closed"],
        ),
        "  "
        + tr._(
            "Median time to the first answer: {first}; to closing: {close}",
            first=duration(tr, c["median_first_answer_seconds"]),
            close=duration(tr, c["median_close_seconds"]),
        ),
        "  "
        + tr._(
            "Satisfaction: {ratings} (rated {rated}, average {average})",
            ratings=ratings,
            rated=c["rated"],
            average=c["average_rating"] if c["average_rating"] is not None else "—",
        ),
    ]
    return "\n".join(lines)
