"""Every dialog the bot knows. Features add theirs here."""

from __future__ import annotations

from bot.engine import DialogRegistry
from dialogs.about import about
from dialogs.announcements import announcements
from dialogs.booking import booking_dialog
from dialogs.cases import cases
from dialogs.console_link import console_link
from dialogs.contacts import contacts
from dialogs.eligibility import eligibility
from dialogs.language import language
from dialogs.menu import menu
from dialogs.mydata import mydata
from dialogs.offices import offices_dialog
from dialogs.privacy import privacy_notice
from dialogs.staff_cases import staff_cases
from dialogs.status import status


def build_registry() -> DialogRegistry:
    registry = DialogRegistry()
    registry.register(menu, language, privacy_notice, contacts, about, mydata)
    registry.register(eligibility)
    registry.register(status)
    registry.register(booking_dialog, offices_dialog)
    registry.register(announcements, console_link)
    registry.register(cases, staff_cases)
    return registry
