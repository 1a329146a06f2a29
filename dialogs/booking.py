"""Book an appointment at an office; see, move and cancel your appointments.

service → office (nearest to a shared location, or by oblast) → day → time →
the place is held 10 minutes → confirm → booking code, summary, what to bring.
Nothing free in 14 days: join the office's waiting list.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.engine import Context, Dialog, Incoming, Kind, Step
from bot.engine.choices import Choices
from bot.i18n import N_
from bot.services.booking import appointments as booking
from bot.services.booking import texts
from bot.services.booking.appointments import Outcome
from bot.services.booking.reminders import due_times
from dialogs.booking_common import (
    answer_where,
    ask_location,
    catalog,
    chosen,
    demo_note,
    oblast_buttons,
    oblast_from_payload,
    remember_region,
    sorted_oblasts,
)

# Reminders open "mine"; a waiting-list offer opens "service", which shows the offer.
booking_dialog = Dialog("booking", entry_steps=("service", "mine"))

CHOOSE = N_("Please choose one of the buttons.")

SERVICE = Choices("s")
OFFICE = Choices("of")  # the position in ctx.data["offices"]
DAY = Choices("d")  # YYYYMMDD
TIME = Choices("t")  # a UTC timestamp
APPOINTMENT = Choices("a")
WAITING = Choices("w")  # a waiting-list entry


@booking_dialog.step("service")
class ChooseService(Step):
    async def show(self, ctx: Context) -> None:
        data = catalog(ctx)
        if not data.offices:
            ctx.note(ctx._("Booking is not available yet: no offices are set up."))
            return ctx.menu()
        seen = await booking.overview(ctx.db, ctx.person.id, ctx.now())
        if (offer := seen.offer) is not None:
            ctx.say(
                texts.offer_text(ctx.tr, data, offer),
                [
                    [ctx.button(ctx._("✅ Take this place"), "offer:yes")],
                    [ctx.button(ctx._("✖ No, thank you"), "offer:no")],
                ],
                title=ctx._("A place has opened for you"),
            )
        office = data.office(chosen(ctx).get("office", ""))
        ids = office.services if office else [s for s in data.services if data.offering(s)]
        rows = [
            [SERVICE.button(service.id, service.name.in_(ctx.language))]
            for service_id in ids
            if (service := data.service(service_id)) is not None
        ]
        if seen.mine:
            rows.append([ctx.button(ctx._("📋 My appointments ({n})", n=seen.mine), "mine")])
        where = ctx._("At {office}.", office=office.name.in_(ctx.language)) + " " if office else ""
        ctx.ask(
            where + ctx._("What is your visit about?"),
            rows,
            title=ctx._("Book an appointment"),
        )

    async def on_button(self, ctx: Context, payload: str) -> None:
        data = catalog(ctx)
        if payload == "mine":
            return ctx.goto("mine")
        if payload in ("offer:yes", "offer:no"):
            return await self._answer_offer(ctx, payload == "offer:yes")
        service_id = SERVICE.parse(payload)
        if service_id is None or data.service(service_id) is None:
            return ctx.invalid(ctx._(CHOOSE))
        existing = await booking.booked_id_for_service(
            ctx.db, ctx.person.id, service_id, ctx.now()
        )
        if existing is not None:
            ctx.note(
                ctx._(
                    "You already have an appointment for this service. "
                    "You can move it or cancel it here."
                )
            )
            chosen(ctx)["appt"] = existing
            return ctx.goto("appt")
        chosen(ctx)["service"] = service_id
        chosen(ctx).pop("move", None)
        office = data.office(chosen(ctx).get("office", ""))
        if office is not None and service_id in office.services:
            return ctx.goto("day")
        chosen(ctx).pop("office", None)
        return ctx.goto("find")

    async def _answer_offer(self, ctx: Context, take: bool) -> None:
        data = catalog(ctx)
        if not data.offices:
            ctx.note(ctx._("Booking is not available yet: no offices are set up."))
            return ctx.menu()
        offer = await booking.pending_offer(ctx.db, ctx.person.id, ctx.now())
        if offer is None:
            ctx.note(ctx._("Sorry, this offer has run out."))
            return ctx.goto("service")
        if not take:
            await booking.decline_offer(ctx.db, data, offer.id, ctx.person.id, ctx.now())
            ctx.note(ctx._("All right, the place goes to the next person."))
            return ctx.goto("service")
        result = await booking.confirm(ctx.db, data, offer.id, ctx.person.id, ctx.now())
        return _after_confirm(ctx, result)


@booking_dialog.step("find")
class FindOffice(Step):
    async def show(self, ctx: Context) -> None:
        ask_location(
            ctx,
            ctx._(
                "Where would you like to go? Send your location and I will show the three "
                "nearest offices, or choose the oblast."
            ),
            [[ctx.button(ctx._("🗺 Choose the oblast"), "obl")]],
        )

    async def handle(self, ctx: Context, event: Incoming) -> None:
        answer_where(ctx, event, catalog(ctx).offering(chosen(ctx).get("service")), "office")


@booking_dialog.step("oblast")
class ChooseOblast(Step):
    async def show(self, ctx: Context) -> None:
        data = catalog(ctx)
        oblasts = sorted_oblasts(ctx, data.oblasts_with_offices(chosen(ctx).get("service")))
        ctx.ask(ctx._("Choose the oblast:"), oblast_buttons(ctx, oblasts))

    async def on_button(self, ctx: Context, payload: str) -> None:
        data = catalog(ctx)
        oblast = oblast_from_payload(data, payload)
        if oblast is None:
            return ctx.invalid(ctx._(CHOOSE))
        await remember_region(ctx, oblast)
        offices = [o for o in data.offering(chosen(ctx).get("service")) if o.oblast == oblast.code]
        chosen(ctx)["offices"] = [office.id for office in offices]
        chosen(ctx)["km"] = None
        return ctx.goto("office")


@booking_dialog.step("office")
class ChooseOffice(Step):
    async def show(self, ctx: Context) -> None:
        data = catalog(ctx)
        ids: list[str] = chosen(ctx).get("offices") or []
        km: list[float] | None = chosen(ctx).get("km")
        offices = [o for i in ids if (o := data.office(i)) is not None]
        today = booking.window(ctx.now())[0]
        cards = [
            f"{n}. " + texts.office_card(ctx.tr, data, office, today, km[n - 1] if km else None)
            for n, office in enumerate(offices, start=1)
        ]
        buttons = [
            [OFFICE.button(n - 1, f"{n}. {office.name.in_(ctx.language)}")]
            for n, office in enumerate(offices, start=1)
        ]
        ctx.ask(
            ctx._("Choose the office:") + "\n\n" + "\n\n".join(cards) + demo_note(ctx, offices),
            buttons,
        )

    async def on_button(self, ctx: Context, payload: str) -> None:
        ids: list[str] = chosen(ctx).get("offices") or []
        index = OFFICE.index(payload, len(ids))
        if index is None:
            return ctx.invalid(ctx._(CHOOSE))
        chosen(ctx)["office"] = ids[index]
        return ctx.goto("day")

    async def handle(self, ctx: Context, event: Incoming) -> None:
        if event.kind is Kind.LOCATION:  # a new location: the offices nearest to it
            offices = catalog(ctx).offering(chosen(ctx).get("service"))
            return answer_where(ctx, event, offices, "office")
        return await super().handle(ctx, event)


@booking_dialog.step("day")
class ChooseDay(Step):
    """Days with a free time; when there are none, the office's waiting list."""

    async def show(self, ctx: Context) -> None:
        data = catalog(ctx)
        office = data.office(chosen(ctx).get("office", ""))
        if office is None:
            return ctx.goto("find")
        days = await booking.free_slots(ctx.db, data, office, ctx.now())
        if not days:
            ctx.ask(
                ctx._(
                    "{office} has no free times in the next 14 days.\n\n"
                    "You can join its waiting list: when a place frees up, I offer it to the "
                    "first person waiting, and you will have up to 2 hours to take it.",
                    office=office.name.in_(ctx.language),
                ),
                [
                    [ctx.button(ctx._("📝 Join the waiting list"), "join")],
                    [ctx.button(ctx._("🏢 Choose another office"), "other")],
                    [ctx.button(ctx._("💬 Ask a specialist"), "ask")],
                ],
            )
            return
        buttons = [
            DAY.button(f"{day:%Y%m%d}", texts.day_label(ctx.tr, day)) for day in sorted(days)
        ]
        ctx.ask(
            ctx._("{office}\nChoose a day:", office=office.name.in_(ctx.language)),
            [buttons[i : i + 2] for i in range(0, len(buttons), 2)],
        )

    async def on_button(self, ctx: Context, payload: str) -> None:
        if payload == "other":
            chosen(ctx).pop("office", None)
            return ctx.goto("find")
        if payload == "join":
            return await self._join(ctx)
        if payload == "ask":  # nothing free: a human may find a way (dialogs/cases.py)
            hint = {
                "office": chosen(ctx).get("office", ""),
                "service": chosen(ctx).get("service", ""),
            }
            return ctx.start("cases", {"topic": "booking", "from": hint})
        digits = DAY.parse(payload) or ""
        try:
            day = date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
        except ValueError:
            return ctx.invalid(ctx._(CHOOSE))
        chosen(ctx)["day"] = day.isoformat()
        return ctx.goto("time")

    async def _join(self, ctx: Context) -> None:
        _, place = await booking.join_waitlist(
            ctx.db,
            person_id=ctx.person.id,
            office_id=chosen(ctx).get("office", ""),
            service_id=chosen(ctx).get("service", ""),
            now=ctx.now(),
        )
        ctx.note(
            ctx._(
                "You are on the waiting list, number {place}. I will write to you as soon as "
                "a place frees up. You can leave the list in My appointments.",
                place=place,
            )
        )
        return ctx.menu()


@booking_dialog.step("time")
class ChooseTime(Step):
    async def show(self, ctx: Context) -> None:
        data = catalog(ctx)
        office = data.office(chosen(ctx).get("office", ""))
        if office is None:
            return ctx.goto("find")
        day = date.fromisoformat(chosen(ctx)["day"])
        slots = (await booking.free_slots(ctx.db, data, office, ctx.now(), day=day)).get(day, [])
        if not slots:
            ctx.note(ctx._("Sorry, there are no free times left on this day."))
            return ctx.goto("day")
        buttons = [
            TIME.button(int(slot.starts_at.timestamp()), texts.time_label(ctx.tr, slot.starts_at))
            for slot in slots
        ]
        ctx.ask(
            ctx._("{day}: choose a time.", day=texts.day_label(ctx.tr, day)),
            [buttons[i : i + 4] for i in range(0, len(buttons), 4)],
        )

    async def on_button(self, ctx: Context, payload: str) -> None:
        stamp = TIME.number(payload)
        if stamp is None:
            return ctx.invalid(ctx._(CHOOSE))
        held = await booking.hold(
            ctx.db,
            catalog(ctx),
            person_id=ctx.person.id,
            office_id=chosen(ctx).get("office", ""),
            service_id=chosen(ctx).get("service", ""),
            starts_at=datetime.fromtimestamp(stamp, UTC),
            now=ctx.now(),
            replaces_id=chosen(ctx).get("move"),
        )
        if held is None:
            return ctx.invalid(
                ctx._("Sorry, someone has just taken this time. Please choose another.")
            )
        chosen(ctx)["held"] = held.id
        return ctx.goto("confirm")


@booking_dialog.step("confirm")
class Confirm(Step):
    async def show(self, ctx: Context) -> None:
        held = await booking.get_appointment(ctx.db, chosen(ctx).get("held", 0), ctx.person.id)
        if held is None or held.state != "held" or held.hold_until is None:
            ctx.note(ctx._("This time is no longer kept for you. Please choose again."))
            return ctx.goto("day")
        ctx.ask(
            ctx._(
                "Please check:\n\n{summary}\n\nI keep this time for you for 10 minutes, "
                "until {until}.",
                summary=texts.summary(ctx.tr, catalog(ctx), held, code=False),
                until=ctx.tr.time(held.hold_until),
            ),
            [
                [ctx.button(ctx._("✅ Confirm"), "yes")],
                [ctx.button(ctx._("✖ Do not book"), "no")],
            ],
            title=ctx._("Moving your appointment") if held.replaces_id else None,
        )

    async def on_button(self, ctx: Context, payload: str) -> None:
        data = catalog(ctx)
        if payload == "no":
            held = await booking.get_appointment(ctx.db, chosen(ctx).get("held", 0), ctx.person.id)
            original = (
                await booking.get_appointment(ctx.db, held.replaces_id, ctx.person.id)
                if held is not None and held.replaces_id
                else None
            )
            await booking.release_holds(ctx.db, data, ctx.person.id, ctx.now())
            if original is not None and original.state == "booked":
                # While moving, "do not book" must not sound like losing the appointment.
                ctx.note(
                    ctx._(
                        "The appointment is not moved. You are still booked for {when}, "
                        "code {code}.",
                        when=texts.when(ctx.tr, original.starts_at, start=False),
                        code=original.code,
                    )
                )
                chosen(ctx)["appt"] = original.id
                return ctx.goto("mine")
            ctx.note(ctx._("Not booked. The time is free for others again."))
            return ctx.menu()
        if payload != "yes":
            return ctx.invalid(ctx._(CHOOSE))
        result = await booking.confirm(
            ctx.db, data, chosen(ctx).get("held", 0), ctx.person.id, ctx.now()
        )
        return _after_confirm(ctx, result)


def _after_confirm(ctx: Context, result: booking.Confirmation) -> None:
    if result.outcome is Outcome.BOOKED and result.appointment is not None:
        ctx.data["appt"] = result.appointment.id
        ctx.data["moved"] = result.moved is not None
        ctx.data["old_code"] = result.moved.code if result.moved is not None else None
        return ctx.goto("done")
    if result.outcome is Outcome.EXPIRED:
        ctx.note(
            ctx._(
                "Sorry, the 10 minutes have passed and the time was released. "
                "Please choose a time again."
            )
        )
        return ctx.goto("day") if chosen(ctx).get("office") else ctx.goto("service")
    if result.outcome is Outcome.DUPLICATE:
        ctx.note(
            ctx._(
                "You already have an appointment for this service. "
                "You can move it or cancel it in My appointments."
            )
        )
        return ctx.goto("mine")
    ctx.note(ctx._("This booking is no longer open. Please start again."))
    return ctx.goto("service")


def reminders_promise(ctx: Context, starts_at: datetime) -> str:
    """Only the reminders that will really come: a same-day booking gets no 24-hour one."""
    hours = [h for h, _ in due_times(starts_at, ctx.now())]
    if 24 in hours and 2 in hours:
        return ctx._(
            "Show the booking code at the office. I will remind you 24 hours and 2 hours before."
        )
    if 2 in hours:
        return ctx._("Show the booking code at the office. I will remind you 2 hours before.")
    return ctx._(
        "Show the booking code at the office. The appointment is soon: I will not send a reminder."
    )


@booking_dialog.step("done")
class Done(Step):
    back_to = "mine"  # not to the confirmation of a booking already made

    async def show(self, ctx: Context) -> None:
        data = catalog(ctx)
        appointment = await booking.get_appointment(
            ctx.db, chosen(ctx).get("appt", 0), ctx.person.id
        )
        if appointment is None:
            return ctx.menu()
        old_code = chosen(ctx).get("old_code")
        moved = (
            ctx._(
                "Your old booking code {old} is no longer valid. Show the new code: {new}.",
                old=old_code,
                new=appointment.code,
            )
            + "\n\n"
            if chosen(ctx).get("moved") and old_code
            else ""
        )
        ctx.ask(
            moved
            + texts.summary(ctx.tr, data, appointment)
            + "\n\n"
            + texts.bring(ctx.tr, data, appointment.service_id)
            + "\n\n"
            + reminders_promise(ctx, appointment.starts_at),
            [
                [ctx.button(ctx._("📋 My appointments"), "mine")],
            ],
            title=ctx._("✅ Your appointment is moved")
            if chosen(ctx).get("moved")
            else ctx._("✅ You are booked"),
        )

    async def on_button(self, ctx: Context, payload: str) -> None:
        if payload == "mine":
            return ctx.goto("mine")
        return ctx.invalid(ctx._(CHOOSE))


@booking_dialog.step("mine")
class Mine(Step):
    async def show(self, ctx: Context) -> None:
        data = catalog(ctx)
        appointments = await booking.upcoming(ctx.db, ctx.person.id, ctx.now())
        entries = await booking.waiting(ctx.db, ctx.person.id)
        if not appointments and not entries:
            ctx.ask(
                ctx._("You have no appointments."),
                [[ctx.button(ctx._("📅 Book an appointment"), "new")]],
                title=ctx._("My appointments"),
            )
            return
        lines: list[str] = []
        buttons = []
        for appointment in appointments:
            service = texts.service_name(ctx.tr, data, appointment.service_id)
            lines.append(
                f"🗓 {texts.when(ctx.tr, appointment.starts_at)}\n"
                f"{service}\n{texts.office_name(ctx.tr, data, appointment.office_id)}\n"
                + ctx._("Code: {code}", code=appointment.code)
            )
            label = (
                f"{texts.day_label(ctx.tr, appointment.starts_at.astimezone(ctx.tr.tz).date())}, "
                f"{ctx.tr.time(appointment.starts_at)}"
            )
            buttons.append([APPOINTMENT.button(appointment.id, label)])
        for entry in entries:
            lines.append(
                ctx._(
                    "⏳ Waiting list: {service}\n{office}",
                    service=texts.service_name(ctx.tr, data, entry.service_id),
                    office=texts.office_name(ctx.tr, data, entry.office_id),
                )
            )
            buttons.append(
                [
                    WAITING.button(
                        entry.id,
                        ctx._(
                            "Leave the waiting list: {office}",
                            office=texts.office_name(ctx.tr, data, entry.office_id),
                        ),
                    )
                ]
            )
        buttons.append([ctx.button(ctx._("📅 Book another"), "new")])
        ctx.ask(
            "\n\n".join(lines) + "\n\n" + ctx._("Choose an appointment to move or cancel it."),
            buttons,
            title=ctx._("My appointments"),
        )

    async def on_button(self, ctx: Context, payload: str) -> None:
        if payload == "new":
            return ctx.start("booking")
        if (appointment := APPOINTMENT.number(payload)) is not None:
            chosen(ctx)["appt"] = appointment
            return ctx.goto("appt")
        if (entry := WAITING.number(payload)) is not None:
            # confirmed first: a stray number must not drop one's place
            chosen(ctx)["leave"] = entry
            return ctx.goto("leave")
        return ctx.invalid(ctx._(CHOOSE))


@booking_dialog.step("leave")
class LeaveWaitlist(Step):
    async def show(self, ctx: Context) -> None:
        ctx.ask(
            ctx._("Leave the waiting list? Your place in it will go to the next person."),
            [
                [ctx.button(ctx._("Yes, leave it"), "yes")],
                [ctx.button(ctx._("No, stay on it"), "no")],
            ],
        )

    async def on_button(self, ctx: Context, payload: str) -> None:
        if payload == "yes":
            entry = int(chosen(ctx).pop("leave", 0) or 0)
            if await booking.leave_waitlist(ctx.db, entry, ctx.person.id, ctx.now()):
                ctx.note(ctx._("You have left the waiting list."))
            return ctx.goto("mine")
        if payload == "no":
            return ctx.back()
        return ctx.invalid(ctx._(CHOOSE))


@booking_dialog.step("appt")
class AppointmentCard(Step):
    async def show(self, ctx: Context) -> None:
        data = catalog(ctx)
        appointment = await booking.get_appointment(
            ctx.db, chosen(ctx).get("appt", 0), ctx.person.id
        )
        if appointment is None or appointment.state != "booked":
            ctx.note(ctx._("This appointment is no longer active."))
            return ctx.goto("mine")
        ctx.ask(
            texts.summary(ctx.tr, data, appointment)
            + "\n\n"
            + texts.bring(ctx.tr, data, appointment.service_id),
            [
                [ctx.button(ctx._("🔁 Move to another time"), "move")],
                [ctx.button(ctx._("✖ Cancel the appointment"), "cancel")],
            ],
            title=ctx._("Your appointment"),
        )

    async def on_button(self, ctx: Context, payload: str) -> None:
        appointment = await booking.get_appointment(
            ctx.db, chosen(ctx).get("appt", 0), ctx.person.id
        )
        if appointment is None or appointment.state != "booked":
            return ctx.goto("mine")
        if payload == "move":
            chosen(ctx).update(
                {
                    "move": appointment.id,
                    "service": appointment.service_id,
                    "office": appointment.office_id,
                }
            )
            return ctx.goto("day")
        if payload == "cancel":
            return ctx.goto("cancel")
        return ctx.invalid(ctx._(CHOOSE))


@booking_dialog.step("cancel")
class CancelAppointment(Step):
    async def show(self, ctx: Context) -> None:
        appointment = await booking.get_appointment(
            ctx.db, chosen(ctx).get("appt", 0), ctx.person.id
        )
        if appointment is None:
            return ctx.goto("mine")
        ctx.ask(
            ctx._(
                "Cancel your appointment on {when}?",
                when=texts.when(ctx.tr, appointment.starts_at, start=False),
            ),
            [
                [ctx.button(ctx._("Yes, cancel it"), "yes")],
                [ctx.button(ctx._("No, keep it"), "no")],
            ],
        )

    async def on_button(self, ctx: Context, payload: str) -> None:
        if payload == "no":
            return ctx.back()
        if payload != "yes":
            return ctx.invalid(ctx._(CHOOSE))
        cancelled = await booking.cancel(
            ctx.db, catalog(ctx), chosen(ctx).get("appt", 0), ctx.person.id, ctx.now()
        )
        if cancelled is not None:
            ctx.note(ctx._("Your appointment is cancelled. Thank you for letting us know."))
        return ctx.menu()
