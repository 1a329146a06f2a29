"""aiogram's models built on first use (bot/lazy_models.py): less memory, the same results.

Two fresh interpreters do the same work with aiogram's models, one as aiogram does it
(every model built at import), one as the bot does it (`import bot` first); what they
parse and serialise must be identical, and only the bot's may leave models unbuilt.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

WORK = r"""
import json, sys
if sys.argv[1] == "bot":
    import bot  # noqa: F401
from aiogram import methods
from aiogram.methods.base import Response
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update

unbuilt = not Message.__pydantic_complete__
user = {"id": 7, "is_bot": False, "first_name": "Олена", "language_code": "uk"}
chat = {"id": 7, "type": "private", "first_name": "Олена"}
message = {
    "update_id": 1,
    "message": {
        "message_id": 3, "date": 1764000000, "chat": chat, "from": user, "text": "/start x",
        "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
    },
}
query = {
    "update_id": 2,
    "callback_query": {
        "id": "9", "chat_instance": "c", "data": "m:status", "from": user,
        "message": {"message_id": 4, "date": 1764000000, "chat": chat, "text": "Меню"},
    },
}
location = {
    "update_id": 3,
    "message": {"message_id": 5, "date": 1764000000, "chat": chat, "from": user,
                "location": {"latitude": 50.45, "longitude": 30.52}},
}
keyboard = InlineKeyboardMarkup(
    inline_keyboard=[[InlineKeyboardButton(text="📄 Статус", callback_data="m:status")]]
)
send = methods.SendMessage(chat_id=7, text="<b>Привіт</b>", reply_markup=keyboard)
answer = Response[Message].model_validate(
    {"ok": True, "result": {"message_id": 8, "date": 1764000000, "chat": chat, "text": "ok"}}
)
out = {
    "updates": [
        Update.model_validate(u).model_dump(mode="json", exclude_none=True)
        for u in (message, query, location)
    ],
    "send": send.model_dump(exclude_none=True, warnings=False),
    "answer": answer.model_dump(mode="json", exclude_none=True),
    "unbuilt": unbuilt,
}
print(json.dumps(out, ensure_ascii=False, sort_keys=True, default=str))
"""


def test_models_built_on_first_use_parse_and_serialise_as_aiogram_builds_them() -> None:
    runs = {
        how: subprocess.Popen(
            [sys.executable, "-c", WORK, how],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for how in ("aiogram", "bot")
    }
    outputs = {}
    for how, process in runs.items():
        stdout, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr[-3000:]
        outputs[how] = json.loads(stdout)
    eager, lazy = outputs["aiogram"], outputs["bot"]
    assert eager.pop("unbuilt") is False
    assert lazy.pop("unbuilt") is True  # not built at import: the memory saved
    assert lazy == eager
    assert lazy["updates"][1]["callback_query"]["data"] == "m:status"
