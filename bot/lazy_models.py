"""aiogram's Bot API models built on first use instead of all at import (~65 MB less).

aiogram declares its ~630 types and methods with pydantic's `defer_build`, then
undoes that at the end of `aiogram.types`: it calls `model_rebuild()` on every type
to resolve the forward references, which builds each one's validator and serializer
at once — 130 MB of RSS for a bot that meets a dozen of them (Update, Message,
CallbackQuery, the few methods it calls). Here that loop only hands each module the
names it needs; pydantic builds a model the first time it is used, as `defer_build`
promises, with the same result.

Installed by `bot/__init__.py` before anything imports aiogram. A process that
imported aiogram first keeps aiogram's eager behaviour: same models, more memory.
"""

from __future__ import annotations

import sys
from typing import Any

from pydantic import BaseModel

_installed = False


def defer_aiogram_models() -> None:
    global _installed
    if _installed or "aiogram.types" in sys.modules:
        return
    _installed = True
    rebuild = BaseModel.model_rebuild.__func__  # type: ignore[attr-defined]

    def model_rebuild(
        cls: type[BaseModel],
        *,
        force: bool = False,
        raise_errors: bool = True,
        _parent_namespace_depth: int = 2,
        _types_namespace: Any = None,
    ) -> bool | None:
        if (
            _types_namespace is not None
            and not force
            and cls.__module__.startswith("aiogram.")
            and cls.model_config.get("defer_build")
        ):
            # Forward references ("Message" in update.py) resolve through the module.
            module = vars(sys.modules[cls.__module__])
            for name, value in _types_namespace.items():
                module.setdefault(name, value)
            return None
        return rebuild(  # type: ignore[no-any-return]
            cls,
            force=force,
            raise_errors=raise_errors,
            _parent_namespace_depth=_parent_namespace_depth + 1,
            _types_namespace=_types_namespace,
        )

    BaseModel.model_rebuild = classmethod(model_rebuild)  # type: ignore[assignment,method-assign]


def build_hot_models() -> None:
    """Build, once start-up is done, the models every update needs (none if no Telegram).

    So the first update is not the one that waits for them, and they are built before
    `bot.server.settle_memory` freezes what lives for ever.
    """
    if sys.modules.get("aiogram.types") is None:
        return
    from aiogram import methods

    # Not `Update`: updates are read from their JSON (handlers/telegram/updates.py), and
    # its tree of models (the message, its chat, sender, entities …) is big.
    for model in (
        methods.GetUpdates,
        methods.SendMessage,
        methods.EditMessageText,
        methods.EditMessageReplyMarkup,
        methods.AnswerCallbackQuery,
    ):
        model.model_rebuild()
