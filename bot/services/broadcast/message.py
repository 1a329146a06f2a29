"""The announcement exactly as a citizen receives it, in their language."""

from __future__ import annotations

from bot.engine.events import Reply
from bot.i18n import N_, translator

#: Telegram allows 4096 characters per message; the title and footer need the rest.
MAX_TEXT = 3500

TITLE = N_("📢 Announcement")
FOOTER = N_("To stop announcements: Menu → My data.")


def text_for(language: str, text_uk: str, text_en: str) -> str:
    """The person's language if it was written, otherwise the one text there is."""
    own = text_uk if language == "uk" else text_en
    return own or text_uk or text_en


def citizen_reply(language: str, text_uk: str, text_en: str) -> Reply:
    tr = translator(language)
    body = text_for(language, text_uk, text_en).strip()
    return Reply(text=f"{body}\n\n{tr._(FOOTER)}", title=tr._(TITLE))


def clean_text(text: str) -> str:
    """Staff text as typed, without trailing blanks; empty means "not given"."""
    return "\n".join(line.rstrip() for line in text.strip().splitlines())
