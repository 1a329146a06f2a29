"""The dialog walk reaches every step of every dialog, as a citizen and as staff."""

from __future__ import annotations

import pytest

from bot.app import App
from tests.dialog_walk import missed_steps, walk_once


@pytest.mark.parametrize("staff", [False, True], ids=["citizen", "staff"])
@pytest.mark.parametrize("locale", ["uk", "en"])
async def test_walk_shows_every_step(sqlite_app: App, locale: str, staff: bool) -> None:
    screens = await walk_once(sqlite_app, locale=locale, staff=staff)
    assert missed_steps(sqlite_app, screens, staff=staff) == {}
    assert all(screen.replies for screen in screens if screen.dialog)
    assert {screen.locale for screen in screens} == {locale}
    staff_screens = [screen for screen in screens if screen.dialog == "staff"]
    assert bool(staff_screens) == staff
