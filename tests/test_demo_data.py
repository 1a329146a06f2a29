"""Demo data never looks real (benefits-review-2026.md, end of §1).

While demo offices or applications are loaded, whatever a person can act on — an office's
card, a booking confirmation, a reminder, an offer, a status — says it is demo data; demo
phone numbers cannot be dialled; no demo office carries a real address.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from bot.i18n import translator
from bot.services.booking.loader import load_catalog
from bot.services.booking.model import OfficeCatalog
from bot.services.booking.texts import offer_text, reminder_text, summary
from bot.settings import DEMO_DATA_DIR
from storage.models.booking import Appointment


def demo_catalog() -> OfficeCatalog:
    catalog, errors = load_catalog(DEMO_DATA_DIR)
    assert errors == []
    return catalog


def test_demo_offices_have_invented_names_addresses_and_undialable_phones() -> None:
    offices = list(demo_catalog().offices.values())
    assert offices and all(office.demo for office in offices)
    for office in offices:
        assert office.name.uk.endswith("(демо)") and office.name.en.endswith("(demo)")
        assert "вигадана адреса" in office.address.uk and "(invented)" in office.address.en
        assert re.fullmatch(r"DEMO-\d{2}", office.phone), office.phone
        assert office.phone != "0 800 503 753"  # never the Pension Fund's national line


@pytest.mark.parametrize(("language", "mark"), [("en", "Demo data"), ("uk", "Демодані")])
def test_a_booking_at_a_demo_office_says_so_wherever_it_is_shown(language: str, mark: str) -> None:
    catalog = demo_catalog()
    office = next(iter(catalog.offices.values()))
    appointment = Appointment(
        code="AB12CD",
        person_id=1,
        office_id=office.id,
        service_id=office.services[0],
        starts_at=datetime(2026, 12, 2, 8, 0, tzinfo=UTC),
        ends_at=datetime(2026, 12, 2, 8, 20, tzinfo=UTC),
        state="held",
        hold_until=datetime(2026, 12, 1, 20, 0, tzinfo=UTC),
    )
    tr = translator(language)
    assert mark in summary(tr, catalog, appointment)  # the confirmation and "my appointments"
    assert mark in reminder_text(tr, catalog, appointment, 24)[1]
    assert mark in offer_text(tr, catalog, appointment)
