"""Pieces shared by the booking and find-an-office dialogs."""

from __future__ import annotations

from typing import TypedDict, cast

from bot.engine import Context, Incoming, Kind, Request
from bot.engine.choices import Choices
from bot.engine.context import ButtonRows
from bot.resources import Resources
from bot.services.booking import appointments, geo
from bot.services.booking.model import Oblast, Office, OfficeCatalog

NEAREST = 3
UK_ALPHABET = "абвгґдеєжзиіїйклмнопрстуфхцчшщьюя"


class Chosen(TypedDict, total=False):
    """What the booking and find-an-office dialogs keep between steps (`ctx.data`).

    Saved with the dialog state as JSON, so only plain values; mypy checks every key.
    """

    service: str  # the service's id
    office: str  # the office's id
    offices: list[str]  # the offices listed to choose from (nearest first, or one oblast's)
    km: list[float] | None  # their distances, when found from a shared location
    day: str  # the chosen day, ISO
    held: int  # the appointment held for the person while they confirm
    appt: int  # the appointment being looked at, moved or cancelled
    move: int  # the appointment a new time replaces
    moved: bool  # the booking just made replaced one
    old_code: str | None  # the replaced appointment's code
    leave: int  # the waiting-list entry to leave, once confirmed


def chosen(ctx: Context) -> Chosen:
    return cast(Chosen, ctx.data)


def catalog(ctx: Context) -> OfficeCatalog:
    return Resources.of(ctx.runtime.resources).offices


def collation_key(text: str) -> tuple[int, ...]:
    """Sort Ukrainian names in alphabet order (Є, І, Ї, Ґ are out of order in Unicode)."""
    return tuple(
        UK_ALPHABET.index(ch) if ch in UK_ALPHABET else 100 + ord(ch)
        for ch in text.casefold()
        if ch.isalpha()
    )


def sorted_oblasts(ctx: Context, oblasts: list[Oblast]) -> list[Oblast]:
    """Kyiv City first (most people), then the oblasts by name in the person's language."""

    def key(oblast: Oblast) -> tuple[int, tuple[int, ...]]:
        name = oblast.name.in_(ctx.language)
        special = 0 if oblast.code.startswith("UA80") else 1
        return special, collation_key(name) if ctx.language == "uk" else tuple(map(ord, name))

    return sorted(oblasts, key=key)


#: an oblast by the two digits of its KATOTTG code after "UA"
OBLAST = Choices("ob")


def oblast_payload(oblast: Oblast) -> str:
    return OBLAST.payload(oblast.code[2:4])


def oblast_from_payload(catalog: OfficeCatalog, payload: str) -> Oblast | None:
    digits = OBLAST.parse(payload)
    return next((o for o in catalog.oblasts.values() if o.code[2:4] == digits), None)


def oblast_buttons(ctx: Context, oblasts: list[Oblast]) -> ButtonRows:
    buttons = [OBLAST.button(o.code[2:4], o.name.in_(ctx.language)) for o in oblasts]
    return [buttons[i : i + 2] for i in range(0, len(buttons), 2)]


async def remember_region(ctx: Context, oblast: Oblast) -> None:
    """The oblast someone looks in is their region, so announcements for it reach them."""
    await appointments.remember_region(ctx.db, ctx.person, oblast.code)


def ask_location(ctx: Context, text: str, buttons: ButtonRows) -> None:
    ctx.ask(
        text,
        buttons,
        request=Request.LOCATION,
        request_label=ctx._("📍 Send my location"),
    )


def nearest_from(event: Incoming, offices: list[Office]) -> list[tuple[Office, float]] | None:
    """The nearest offices to a shared location; None when the event is not a location."""
    if event.kind is not Kind.LOCATION or event.latitude is None or event.longitude is None:
        return None
    return geo.nearest(offices, event.latitude, event.longitude, NEAREST)


def answer_where(ctx: Context, event: Incoming, offices: list[Office], listing: str) -> None:
    """The answer to "send your location or choose the oblast", in both dialogs alike.

    A location lists the nearest offices (step `listing`); the oblast button leads
    to the oblast list (step "oblast"); anything else is asked again.
    """
    if event.kind is Kind.LOCATION and event.latitude is not None and event.longitude is not None:
        place = geo.place_of(event.latitude, event.longitude, offices)
        if place is geo.Place.IMPOSSIBLE:
            return ctx.invalid(
                ctx._(
                    "These coordinates are not a real place. Please send your location "
                    "again, or choose the oblast."
                )
            )
        if place is geo.Place.ABROAD:
            return ctx.invalid(
                ctx._(
                    "This location is outside Ukraine, and I know offices in Ukraine only. "
                    "Please choose the oblast where you want to go."
                )
            )
    near = nearest_from(event, offices)
    if near is not None:
        chosen(ctx)["offices"] = [office.id for office, _ in near]
        chosen(ctx)["km"] = [round(km, 2) for _, km in near]
        return ctx.goto(listing)
    if event.kind is Kind.BUTTON and event.payload == "obl":
        return ctx.goto("oblast")
    return ctx.invalid(ctx._("Please send your location or choose the oblast."))


def demo_note(ctx: Context, offices: list[Office]) -> str:
    if any(office.demo for office in offices):
        return "\n\n" + ctx._("ⓘ Demo data: addresses, phones and hours are examples.")
    return ""
