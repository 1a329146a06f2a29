"""Region codes (KATOTTG) are never shown to people or staff: oblast names, in their language."""

from __future__ import annotations

import re

from bot.app import App
from handlers.conversation import Conversation
from tests.broadcast_support import add_people
from tests.conftest import make_settings, onboard

CODE = re.compile(r"UA\d{17}")
SUMY = "UA59000000000057109"


async def test_my_data_names_the_region(chat_factory: object, sqlite_app: App) -> None:
    for language, name in (("en", "Sumy Oblast"), ("uk", "Сумська область")):
        chat = Conversation(sqlite_app.engine, user_id=f"r-{language}")
        await onboard(chat, language)
        await chat.presses("Find an office" if language == "en" else "Знайти установу")
        await chat.presses("oblast" if language == "en" else "область")
        await chat.presses(name)
        await chat.says("/menu")
        await chat.presses("My data" if language == "en" else "Мої дані")
        chat.expect(name)
        assert not CODE.search(chat.text)


async def test_staff_choose_and_see_regions_by_name(sqlite_url: str) -> None:
    from bot.app import build_app

    app = await build_app(make_settings(sqlite_url, staff_ids="telegram:900"), migrate=False)
    try:
        await add_people(app, 2, region=SUMY)
        chat = Conversation(app.engine, user_id="900", platform="telegram")
        await onboard(chat, "en")
        await chat.presses("Staff")
        await chat.presses("New announcement")
        await chat.says("Виплати 5 грудня.")
        await chat.says("Payments on 5 December.")
        await chat.presses("In one region")
        chat.expect(buttons=["Sumy Oblast (2)", "Kyiv City (0)"])
        assert not CODE.search(chat.text + " ".join(chat.buttons))
        await chat.says("Atlantis")
        chat.expect("do not know this region")
        await chat.says("UA99000000000000000")  # shaped like a code, but no such region
        chat.expect("do not know this region")
        await chat.presses("Sumy Oblast")
        chat.expect("people in Sumy Oblast", r"2 people")
        assert not CODE.search(chat.text)
    finally:
        await app.close()
