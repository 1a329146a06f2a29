"""Booking and find-an-office conversations, in English and Ukrainian (demo offices)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import delete, select

from bot.app import App
from bot.services.booking import appointments as booking
from bot.services.booking.reminders import catalog_of
from handlers.conversation import Conversation
from storage.models import OutboxMessage, Person
from storage.models.booking import Appointment, SlotSeat
from tests.booking_support import book, kyiv, make_people
from tests.conftest import Clock, onboard

Chat = Callable[..., Conversation]
OBOLON = (50.505, 30.50)


def payloads(chat: Conversation, prefix: str) -> list[str]:
    return [p for reply in chat.last for p in reply.payloads if p.startswith(prefix)]


async def press_nth(chat: Conversation, prefix: str, n: int = 0) -> None:
    found = payloads(chat, prefix)
    assert len(found) > n, f"no {prefix!r} button #{n} in {chat.buttons}"
    await chat.presses_payload(found[n])


async def at_obolon_days(chat_factory: Chat) -> Conversation:
    """A newcomer on the way to an IDP certificate, at the days of the Obolon ЦНАП."""
    chat = chat_factory()
    await onboard(chat, "en")
    await chat.presses("Book an appointment")
    await chat.presses("IDP certificate")
    await chat.shares_location(*OBOLON)
    await chat.presses("1. Obolon")
    return chat


async def appointments(app: App) -> list[Appointment]:
    async with app.db.transaction() as session:
        return list((await session.scalars(select(Appointment).order_by(Appointment.id))).all())


async def test_book_move_and_cancel_in_english(chat_factory: Chat, sqlite_app: App) -> None:
    chat = chat_factory()
    await onboard(chat, "en")
    await chat.presses("Book an appointment")
    chat.expect(
        "What is your visit about", buttons=["IDP certificate", "Housing (utility) subsidy"]
    )
    await chat.presses("IDP certificate")
    chat.expect("three nearest offices", buttons=["Choose the oblast"])
    assert chat.last[-1].request is not None and chat.last[-1].request_label

    await chat.shares_location(*OBOLON)
    chat.expect(r"1\. Obolon District .*\(\d+ m\)", r"2\. Pension Fund service centre, Obolon")
    chat.expect("Today: 09:00–18:00", "DEMO-05", "Demo data")
    await chat.presses("1. Obolon")
    chat.expect("Choose a day", buttons=["Tue, 24 November", "Wed, 25 November"])
    assert len(payloads(chat, "d:")) <= 14
    await chat.presses("Wed, 25 November")
    chat.expect("25 November", buttons=["09:00", "19:40"])
    await chat.presses("10:00")
    chat.expect("Please check", "10 minutes", "until 12:10", "Wednesday, 25 November 2026, 10:00")
    chat.expect_not("Booking code")
    await chat.presses("Confirm")
    chat.expect("You are booked", r"Booking code: [A-Z]{3}-\d{3}", "Please bring", "passport")
    chat.expect("remind you 2 hours before")  # booked 22 hours ahead: no 24-hour reminder
    chat.expect_not("24 hours")
    [first] = await appointments(sqlite_app)
    assert first.state == "booked" and first.office_id == "kyiv-cnap-obolon"
    assert first.starts_at == kyiv(2026, 11, 25, 10)

    # One appointment per service: choosing the same service again leads to it.
    await chat.says("/menu")
    await chat.presses("Book an appointment")
    chat.expect(buttons=["My appointments (1)"])
    await chat.presses("IDP certificate")
    chat.expect("already have an appointment", buttons=["Move to another time"])

    await chat.presses("Move to another time")
    chat.expect("Choose a day")
    await chat.presses("Thu, 26 November")
    await chat.presses("11:20")
    chat.expect("Moving your appointment", "Thursday, 26 November 2026, 11:20")
    await chat.presses("Confirm")
    chat.expect("Your appointment is moved", first.code + "|[A-Z]{3}-\\d{3}")
    old, new = await appointments(sqlite_app)
    assert (old.state, new.state) == ("moved", "booked")
    assert new.starts_at == kyiv(2026, 11, 26, 11, 20)

    await chat.presses("My appointments")
    chat.expect("Thursday, 26 November 2026, 11:20", new.code)
    await press_nth(chat, "a:")
    await chat.presses("Cancel the appointment")
    chat.expect("Cancel your appointment on Thursday, 26 November 2026, 11:20?")
    await chat.presses("Yes, cancel it")
    chat.expect("cancelled", "Main menu")
    assert [a.state for a in await appointments(sqlite_app)] == ["moved", "cancelled"]
    await chat.presses("Book an appointment")
    chat.expect_not("My appointments")


async def test_book_move_and_cancel_in_ukrainian_by_oblast(
    chat_factory: Chat, sqlite_app: App
) -> None:
    chat = chat_factory(user_id="uk1")
    await onboard(chat, "uk")
    await chat.presses("Записатися на прийом")
    chat.expect("З яким питанням", buttons=["Житлова субсидія"])
    await chat.presses("Житлова субсидія")
    await chat.presses("Обрати область")
    assert chat.buttons[0] == "м. Київ"
    await chat.presses("Харківська область")
    chat.expect("Оберіть установу", "Сьогодні", "Харків")
    async with sqlite_app.db.transaction() as session:
        person = await session.scalar(select(Person).where(Person.platform_user_id == "uk1"))
        assert person is not None and person.region == "UA63000000000041885"

    await chat.presses("Сервісний центр Пенсійного фонду")
    chat.expect("Оберіть день", buttons=["Ср, 25 листопада"])
    await chat.presses("Ср, 25 листопада")
    await chat.presses("08:00")
    chat.expect("Перевірте", "10 хвилин", "середа, 25 листопада 2026")
    await chat.presses("Підтвердити")
    chat.expect("Вас записано", "Код запису", "Візьміть із собою")

    await chat.presses("Мої записи")
    await press_nth(chat, "a:")
    await chat.presses("Перенести")
    await chat.presses("Чт, 26 листопада")
    await chat.presses("08:15")
    await chat.presses("Підтвердити")
    chat.expect("Ваш запис перенесено", r"четвер, 26 листопада 2026\W+р\., 08:15")
    await chat.presses("Мої записи")
    await press_nth(chat, "a:")
    await chat.presses("Скасувати запис")
    await chat.presses("Так, скасувати")
    chat.expect("скасовано")
    assert [a.state for a in await appointments(sqlite_app)] == ["moved", "cancelled"]


async def test_a_slot_taken_by_someone_else_meanwhile_is_refused_kindly(
    chat_factory: Chat, sqlite_app: App
) -> None:
    chat = await at_obolon_days(chat_factory)
    await chat.presses("Wed, 25 November")
    # Everyone else books all three seats of 10:00 while the person is reading.
    others = await make_people(sqlite_app.db, 3)
    for person_id in others:
        await book(
            sqlite_app.db, catalog_of(sqlite_app.runtime), person_id, kyiv(2026, 11, 25, 10),
            sqlite_app.runtime.now(), office_id="kyiv-cnap-obolon",
        )  # fmt: skip
    await chat.presses("10:00")
    chat.expect("someone has just taken this time")
    chat.expect_not("Please check")


async def test_hold_that_ran_out_is_not_booked(
    chat_factory: Chat, sqlite_app: App, clock: Clock
) -> None:
    chat = await at_obolon_days(chat_factory)
    await chat.presses("Wed, 25 November")
    await chat.presses("10:00")
    clock.advance(minutes=11)
    await chat.presses("Confirm")
    chat.expect("10 minutes have passed", "Choose a day")
    assert [a.state for a in await appointments(sqlite_app)] == ["expired"]


async def test_waiting_list_when_an_office_is_full_and_taking_the_offer(
    chat_factory: Chat, sqlite_app: App
) -> None:
    cat = catalog_of(sqlite_app.runtime)
    now = sqlite_app.runtime.now()
    async with sqlite_app.db.transaction() as session:
        assert await booking.block_seats(session, cat, "pavlohrad-cnap", now, 15) > 0
    chat = chat_factory()
    await onboard(chat, "en")
    await chat.presses("Book an appointment")
    await chat.presses("Housing (utility) subsidy")
    await chat.presses("Choose the oblast")
    await chat.presses("Dnipropetrovsk Oblast")
    await chat.presses("Pavlohrad")
    chat.expect("no free times in the next 14 days", buttons=["Join the waiting list"])
    await chat.presses("Join the waiting list")
    chat.expect("waiting list, number 1", "Main menu")

    # A place frees up (staff release one Thursday seat): it is offered to the person.
    thursday = kyiv(2026, 11, 26, 12)
    async with sqlite_app.db.transaction() as session:
        await session.execute(delete(SlotSeat).where(SlotSeat.starts_at == thursday))
        await booking.offer_freed_slot(session, cat, "pavlohrad-cnap", thursday, now)
        [message] = (await session.scalars(select(OutboxMessage))).all()
    assert message.kind == "waitlist" and "a place has opened" in message.body[0]["text"]

    await chat.presses("Book an appointment")
    chat.expect("A place has opened", "Thursday, 26 November 2026, 12:00")
    await chat.presses("Take this place")
    chat.expect("You are booked", "Pavlohrad")
    [taken] = await appointments(sqlite_app)
    assert taken.state == "booked" and taken.starts_at == thursday


async def test_find_an_office_shows_today_hours_and_leads_to_booking(
    chat_factory: Chat, clock: Clock
) -> None:
    chat = chat_factory()
    await onboard(chat, "en")
    await chat.presses("Find an office")
    chat.expect("three nearest offices", buttons=["Choose the oblast"])
    await chat.shares_location(50.91, 34.80)
    chat.expect("Sumy City Council Social Protection Department", "Today: 08:00–17:15")
    chat.expect("DEMO-13")  # a demo office never shows a real, callable number
    await chat.presses("Book: Sumy")
    chat.expect("At Sumy City Council", "What is your visit about")
    chat.expect_not("Basic social assistance")  # not offered there
    await chat.presses("IDP certificate")
    chat.expect("Choose a day")

    # On a Saturday the same office is closed; the oblast list works too.
    clock.current += timedelta(days=4)
    await chat.says("/menu")
    await chat.presses("Find an office")
    await chat.presses("Choose the oblast")
    await chat.presses("Sumy Oblast")
    chat.expect("Today: closed")


async def test_my_data_lists_appointments(chat_factory: Chat, sqlite_app: App) -> None:
    chat = await at_obolon_days(chat_factory)
    await chat.presses("Wed, 25 November")
    await chat.presses("10:00")
    await chat.presses("Confirm")
    await chat.says("/menu")
    await chat.presses("My data")
    chat.expect("Appointment: Wednesday, 25 November 2026, 10:00, Obolon District")


async def test_typed_text_where_a_location_is_expected_is_re_asked(chat_factory: Chat) -> None:
    chat = chat_factory()
    await onboard(chat, "en")
    await chat.presses("Find an office")
    await chat.says("somewhere in Kyiv")
    chat.expect("send your location or choose the oblast")


async def test_a_reminder_button_opens_my_appointments(
    chat_factory: Chat, sqlite_app: App, clock: Clock
) -> None:
    """The reminder is a message the bot started: its button still works, one tap."""
    chat = await at_obolon_days(chat_factory)
    await press_nth(chat, "d:", 1)  # another day: both reminders are still ahead
    await press_nth(chat, "t:")
    await chat.presses("Confirm")
    [booked] = await appointments(sqlite_app)
    await chat.says("/menu")
    await chat.presses("Contacts")  # somewhere else entirely when the reminder comes

    # Confirming queued the reminders (rows waiting for their moment).
    async with sqlite_app.db.transaction() as session:
        row = await session.scalar(
            select(OutboxMessage).where(
                OutboxMessage.kind == "reminder",
                OutboxMessage.dedupe_key.startswith(f"reminder:{booked.id}:2:"),
            )
        )
    assert row is not None
    buttons = {
        label: payload for r in row.body for line in r["buttons"] for label, payload in line
    }
    await chat.presses_payload(buttons["📋 My appointments"])
    chat.expect(booked.code)
    chat.expect_not("earlier message")


async def test_back_from_a_dialog_opened_by_another_returns_there(chat_factory: Chat) -> None:
    """Booking opened from the offices found: its first screen's Back shows them again."""
    chat = chat_factory()
    await onboard(chat, "en")
    await chat.presses("Find an office")
    await chat.shares_location(50.91, 34.80)
    await chat.presses("Book: Sumy")
    chat.expect("At Sumy City Council", buttons=["Back", "Menu"])
    await chat.presses("Back")
    chat.expect("Sumy City Council Social Protection Department", "Today: 08:00–17:15")
    await chat.presses("Back")
    chat.expect("three nearest offices")
    await chat.presses("Back")
    chat.expect("Main menu")


async def test_back_after_booking_does_not_return_to_its_confirmation(
    chat_factory: Chat,
) -> None:
    chat = await at_obolon_days(chat_factory)
    await chat.presses("Wed, 25 November")
    await chat.presses("10:00")
    await chat.presses("Confirm")
    chat.expect("You are booked", buttons=["Back", "Menu"])
    await chat.presses("Back")
    chat.expect("Wednesday, 25 November 2026, 10:00")
    chat.expect_not("Please check", "no longer kept")


async def test_a_location_outside_ukraine_or_impossible_is_refused(chat_factory: Chat) -> None:
    chat = chat_factory()
    await onboard(chat, "en")
    await chat.presses("Find an office")
    await chat.shares_location(91, 200)
    chat.expect("not a real place", "three nearest offices")
    await chat.shares_location(52.23, 21.01)  # Warsaw
    chat.expect("outside Ukraine", "choose the oblast")
    chat.expect_not(r"\d,\d{3} km|km\)")
    await chat.shares_location(44.5, 34.17)  # Yalta, Crimea: Ukraine
    chat.expect_not("outside Ukraine")


async def test_a_new_location_on_the_results_is_taken_as_new(chat_factory: Chat) -> None:
    chat = chat_factory()
    await onboard(chat, "en")
    await chat.presses("Find an office")
    await chat.shares_location(*OBOLON)
    chat.expect("Obolon")
    await chat.shares_location(50.91, 34.80)  # now in Sumy
    chat.expect("Sumy City Council Social Protection Department")
    chat.expect_not("Obolon", "Please choose one of the buttons")
    # the same in booking's list of offices
    await chat.says("/menu")
    await chat.presses("Book an appointment")
    await chat.presses("IDP certificate")
    await chat.shares_location(*OBOLON)
    chat.expect("1. Obolon")
    await chat.shares_location(50.91, 34.80)
    chat.expect("Choose the office", "Sumy")
    chat.expect_not("Obolon")


async def _booked_at_obolon(chat_factory: Chat) -> Conversation:
    chat = await at_obolon_days(chat_factory)
    await chat.presses("Wed, 25 November")
    await chat.presses("10:00")
    await chat.presses("Confirm")
    return chat


async def test_moving_and_not_booking_keeps_the_original(
    chat_factory: Chat, sqlite_app: App
) -> None:
    chat = await _booked_at_obolon(chat_factory)
    [original] = await appointments(sqlite_app)
    await chat.presses("My appointments")
    await press_nth(chat, "a:")
    await chat.presses("Move to another time")
    await chat.presses("Thu, 26 November")
    await chat.presses("11:20")
    await chat.presses("Do not book")
    chat.expect(
        "not moved",
        "still booked for Wednesday, 25 November 2026, 10:00",
        f"code {original.code}",
    )
    chat.expect_not("free for others")
    first, *_ = await appointments(sqlite_app)
    assert first.state == "booked"


async def test_a_completed_move_voids_the_old_code_and_gives_the_new(
    chat_factory: Chat, sqlite_app: App
) -> None:
    chat = await _booked_at_obolon(chat_factory)
    await chat.presses("My appointments")
    await press_nth(chat, "a:")
    await chat.presses("Move to another time")
    await chat.presses("Thu, 26 November")
    await chat.presses("11:20")
    await chat.presses("Confirm")
    old, new = await appointments(sqlite_app)
    chat.expect(
        "Your appointment is moved",
        f"old booking code {old.code} is no longer valid",
        f"new code: {new.code}",
    )


async def test_a_same_day_booking_promises_only_the_reminders_it_can_send(
    chat_factory: Chat,
) -> None:
    chat = await at_obolon_days(chat_factory)  # Tuesday, 12:00 in Kyiv
    await chat.presses("Tue, 24 November")
    await chat.presses("16:00")
    await chat.presses("Confirm")
    chat.expect("You are booked", "remind you 2 hours before")
    chat.expect_not("24 hours")
    await chat.says("/menu")
    await chat.presses("Book an appointment")
    await chat.presses("Housing")
    await chat.shares_location(*OBOLON)
    await chat.presses("1. Obolon")
    await chat.presses("Tue, 24 November")
    await chat.presses("13:20")  # in 80 minutes: no reminder at all
    await chat.presses("Confirm")
    chat.expect("You are booked", "soon: I will not send a reminder")
    chat.expect_not("remind you")


async def test_a_weekday_inside_a_ukrainian_sentence_is_lower_case(chat_factory: Chat) -> None:
    chat = chat_factory(user_id="uk2")
    await onboard(chat, "uk")
    await chat.presses("Записатися на прийом")
    await chat.presses("Довідка ВПО")
    await chat.shares_location(*OBOLON)
    await press_nth(chat, "of:")
    await chat.presses("Чт, 26 листопада")
    await chat.presses("09:20")
    await chat.presses("Підтвердити")
    await chat.presses("Мої записи")
    await press_nth(chat, "a:")
    await chat.presses("Скасувати запис")
    assert "Скасувати ваш запис на четвер, 26 листопада" in chat.text, chat.text


async def test_leaving_the_waiting_list_is_confirmed(chat_factory: Chat, sqlite_app: App) -> None:
    cat = catalog_of(sqlite_app.runtime)
    async with sqlite_app.db.transaction() as session:
        await booking.block_seats(session, cat, "pavlohrad-cnap", sqlite_app.runtime.now(), 15)
    chat = chat_factory()
    await onboard(chat, "en")
    await chat.presses("Book an appointment")
    await chat.presses("Housing (utility) subsidy")
    await chat.presses("Choose the oblast")
    await chat.presses("Dnipropetrovsk Oblast")
    await chat.presses("Pavlohrad")
    await chat.presses("Join the waiting list")
    await chat.presses("Book an appointment")
    await chat.presses("My appointments")
    await chat.presses("Leave the waiting list")
    chat.expect("Leave the waiting list?")
    await chat.presses("No, stay on it")
    chat.expect("Waiting list")
    async with sqlite_app.db.transaction() as session:
        assert len(await booking.waiting(session, (await _person_id(sqlite_app)))) == 1
    await chat.presses("Leave the waiting list")
    await chat.presses("Yes, leave it")
    chat.expect("You have left the waiting list")


async def _person_id(app: App) -> int:
    async with app.db.transaction() as session:
        found = await session.scalar(select(Person.id).where(Person.platform_user_id == "1"))
        assert found is not None
        return int(found)
