"""How appointments and offices read, in the person's language (dialogs and reminders)."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache

from babel.dates import format_skeleton

from bot.i18n import N_, Translator
from bot.services.booking.model import Office, OfficeCatalog
from bot.services.booking.slots import breaks_label, hours_label
from storage.models.booking import Appointment

DEMO_OFFICE = N_(
    "⚠️ Demo data: this office, its address and phone are invented for trying the bot. "
    "Do not go there."
)


def office_name(tr: Translator, catalog: OfficeCatalog, office_id: str) -> str:
    office = catalog.office(office_id)
    return office.name.in_(tr.language) if office else office_id


def service_name(tr: Translator, catalog: OfficeCatalog, service_id: str) -> str:
    service = catalog.service(service_id)
    return service.name.in_(tr.language) if service else service_id


@lru_cache(maxsize=2048)
def day_label(tr: Translator, day: date) -> str:
    """Short enough for a button: "Wed, November 25" / "Ср, 25 листопада"."""
    # Kept: the day screen labels 14 buttons, and Babel takes longer than the query.
    month_day = format_skeleton("MMMMd", day, locale=tr.locale)
    return f"{tr.date(day, format='EEE').capitalize()}, {month_day}"


@lru_cache(maxsize=4096)
def time_label(tr: Translator, at: datetime) -> str:
    """`tr.time(at)`, kept: the time screen labels a button for every free slot."""
    return tr.time(at)


@lru_cache(maxsize=4096)
def when(tr: Translator, starts_at: datetime, *, start: bool = True) -> str:
    """Weekday, date and time in Europe/Kyiv: "Wednesday, November 25, 2026, 10:20".

    `start=False` inside a sentence: a Ukrainian weekday is written in lower case
    there ("на четвер, 3 грудня"), an English one is capitalised anyway. Kept: a
    booking's reminders and screens write the same time again and again.
    """
    local_day = starts_at.astimezone(tr.tz).date()
    weekday = tr.weekday(local_day)
    return tr._(
        "{weekday}, {date}, {time}",
        weekday=weekday.capitalize() if start else weekday,
        date=tr.date(local_day),
        time=tr.time(starts_at),
    )


def distance(tr: Translator, km: float) -> str:
    if km < 1:
        return tr._("{meters} m", meters=tr.number(round(km * 1000, -1)))
    return tr._("{km} km", km=tr.number(round(km, 1)))


def summary(
    tr: Translator, catalog: OfficeCatalog, appointment: Appointment, *, code: bool = True
) -> str:
    office = catalog.office(appointment.office_id)
    lines = [
        tr._("🗓 {when}", when=when(tr, appointment.starts_at)),
        tr._("📋 {service}", service=service_name(tr, catalog, appointment.service_id)),
        tr._("🏢 {office}", office=office_name(tr, catalog, appointment.office_id)),
    ]
    if office is not None:
        lines.append(tr._("📍 {address}", address=office.address.in_(tr.language)))
        lines.append(tr._("☎️ {phone}", phone=office.phone))
        if office.demo:
            # a confirmation, reminder or offer must never send anyone to an invented office
            lines.insert(0, tr._(DEMO_OFFICE))
    if code:
        lines.append(tr._("🔑 Booking code: {code}", code=appointment.code))
    return "\n".join(lines)


def bring(tr: Translator, catalog: OfficeCatalog, service_id: str) -> str:
    service = catalog.service(service_id)
    if service is None:
        return ""
    items = [line.strip() for line in service.bring.in_(tr.language).splitlines() if line.strip()]
    return tr._("Please bring:") + "\n" + "\n".join(f"• {item}" for item in items)


def today_hours(tr: Translator, catalog: OfficeCatalog, office: Office, day: date) -> str:
    hours = hours_label(catalog, office, day)
    if hours is None:
        closure = office.closure(day)
        holiday = catalog.holidays.get(day) if catalog.is_holiday(office, day) else None
        reason = (closure.note if closure else None) or (holiday.name if holiday else None)
        if reason is not None:
            return tr._("Today: closed ({reason})", reason=reason.in_(tr.language))
        return tr._("Today: closed")
    pause = breaks_label(office, day)
    if pause:
        return tr._("Today: {hours}, break {breaks}", hours=hours, breaks=pause)
    return tr._("Today: {hours}", hours=hours)


def office_card(
    tr: Translator,
    catalog: OfficeCatalog,
    office: Office,
    day: date,
    km: float | None = None,
) -> str:
    title = office.name.in_(tr.language)
    if km is not None:
        title = tr._("{name} ({distance})", name=title, distance=distance(tr, km))
    lines = [
        title,
        tr._("📍 {address}", address=office.address.in_(tr.language)),
        "🕘 " + today_hours(tr, catalog, office, day),
        tr._("☎️ {phone}", phone=office.phone),
    ]
    return "\n".join(lines)


def offer_text(tr: Translator, catalog: OfficeCatalog, appointment: Appointment) -> str:
    until = appointment.hold_until or appointment.starts_at
    return tr._(
        "You are on the waiting list, and a place has opened:\n\n{summary}\n\n"
        "It is kept for you until {until}. To take it: Menu → 📅 Book an appointment. "
        "If you do not answer by then, the place goes to the next person.",
        summary=summary(tr, catalog, appointment),
        until=tr.datetime(until),
    )


def reminder_text(
    tr: Translator, catalog: OfficeCatalog, appointment: Appointment, hours: int
) -> tuple[str, str]:
    """(title, text) of the reminder sent `hours` before the appointment."""
    title = (
        tr._("Reminder: your appointment is tomorrow")
        if hours >= 24
        else tr.n_(
            "Reminder: your appointment is in {n} hour",
            "Reminder: your appointment is in {n} hours",
            hours,
        )
    )
    text = tr._(
        "{summary}\n\n{bring}\n\nCannot come? Please cancel or move it: "
        "Menu → 📅 Book an appointment → My appointments. Someone else may be waiting.",
        summary=summary(tr, catalog, appointment),
        bring=bring(tr, catalog, appointment.service_id),
    )
    return title, text


def oblast_name(tr: Translator, code: str, catalog: OfficeCatalog) -> str | None:
    """An oblast's name for its KATOTTG code (any case), or None when it is not listed."""
    oblast = catalog.oblasts.get(code.strip().upper())
    return oblast.name.in_(tr.language) if oblast is not None else None
