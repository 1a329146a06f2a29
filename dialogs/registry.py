"""Every dialog the bot knows. Features add theirs here."""

from __future__ import annotations

from bot.engine import DialogRegistry
from dialogs.about import about
from dialogs.contacts import contacts
from dialogs.language import language
from dialogs.menu import menu
from dialogs.mydata import mydata
from dialogs.privacy import privacy_notice
from dialogs.status import status


def build_registry() -> DialogRegistry:
    registry = DialogRegistry()
    registry.register(menu, language, privacy_notice, contacts, about, mydata)
    registry.register(status)
    return registry
