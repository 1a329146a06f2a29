"""What each status tells a person (shared/domain/benefits-review-2026.md, statuses)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.i18n import translator
from bot.services.status.changes import render_notice
from bot.services.status.texts import STATUSES, explain, label
from storage.models.status import Application, StatusChange


@pytest.mark.parametrize("language", ["uk", "en"])
@pytest.mark.parametrize("status", ["suspended", "stopped", "extended"])
def test_the_statuses_people_meet_for_the_idp_allowance_are_known(
    status: str, language: str
) -> None:
    tr = translator(language)
    assert status in STATUSES
    assert label(tr, status) != status
    assert explain(tr, status)


def test_documents_needed_points_to_the_deadline_in_the_notice() -> None:
    text = explain(translator("en"), "needs_documents")
    assert "waits until you bring them" not in text
    assert "deadline named in the notice" in text
    uk = explain(translator("uk"), "needs_documents")
    assert "строк" in uk


def test_refused_keeps_the_complaint_and_the_court_apart() -> None:
    text = explain(translator("en"), "rejected")
    assert "within 30 calendar days" in text
    assert "or the administrative court" not in text  # the court is not the same 30-day route
    assert "separate route with its own deadline" in text


def _notice(number: str) -> str:
    application = Application(
        printed_number=number, birth_date=date(1984, 3, 15), status="suspended", note=None
    )
    change = StatusChange(status="suspended", changed_at=datetime(2026, 11, 20, tzinfo=UTC))
    return render_notice(translator("en"), application, change).text


def test_a_demo_application_says_it_is_demo_data_in_its_notice() -> None:
    assert "Demo data" in _notice("DEMO-2026-000129")
    assert "Demo data" not in _notice("VPO-2026-000129")
