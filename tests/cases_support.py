"""Helpers for the "Ask a specialist" tests: a citizen, staff on two messengers, the outbox."""

from __future__ import annotations

from sqlalchemy import select

from bot.app import App
from bot.engine.events import Reply, reply_from_json
from handlers.conversation import Conversation
from storage.models import OutboxMessage, Person
from storage.models.cases import Case
from tests.conftest import onboard

STAFF_TG = "900"
STAFF_VIBER = "staffViber01=="
STAFF_IDS = f"telegram:{STAFF_TG},viber:{STAFF_VIBER}"


async def citizen(
    app: App, user_id: str = "1", platform: str = "test", language: str = "en"
) -> Conversation:
    chat = Conversation(app.engine, user_id=user_id, platform=platform)
    await onboard(chat, language)
    return chat


async def staff(app: App, platform: str = "telegram", language: str = "en") -> Conversation:
    user = STAFF_TG if platform == "telegram" else STAFF_VIBER
    chat = Conversation(app.engine, user_id=user, platform=platform)
    await onboard(chat, language)
    return chat


async def ask(chat: Conversation, question: str, topic: str = "Something else") -> str:
    """Open a case from the main menu; returns the case code."""
    await chat.says("menu")
    await chat.presses("Ask a specialist")
    await chat.presses(topic)
    await chat.says(question)
    if "May I show the specialist" in chat.text:
        await chat.presses("No, only my question")
    await chat.presses("answer me here")
    chat.expect("Your case number is")
    return chat.text.split("Your case number is ")[1].split(".")[0]


async def open_cases_screen(chat: Conversation) -> None:
    await chat.says("menu")
    await chat.presses("Staff")
    await chat.presses("Cases")


async def case_by_code(app: App, code: str) -> Case:
    async with app.db.transaction() as session:
        case = await session.scalar(select(Case).where(Case.code == code))
        assert case is not None
        return case


async def outbox_for(
    app: App, platform: str, user_id: str
) -> list[tuple[OutboxMessage, list[Reply]]]:
    async with app.db.transaction() as session:
        rows = (
            await session.scalars(
                select(OutboxMessage)
                .join(Person, Person.id == OutboxMessage.person_id)
                .where(Person.platform == platform, Person.platform_user_id == user_id)
                .order_by(OutboxMessage.id)
            )
        ).all()
    return [(row, [reply_from_json(item) for item in row.body]) for row in rows]
