"""The messenger-agnostic dialog engine."""

from bot.engine.context import Context
from bot.engine.dialog import Dialog, DialogRegistry, Step
from bot.engine.engine import Engine
from bot.engine.events import Button, Incoming, Kind, Link, Reply, Request
from bot.engine.globals import Global
from bot.engine.runtime import Runtime

__all__ = [
    "Button",
    "Context",
    "Dialog",
    "DialogRegistry",
    "Engine",
    "Global",
    "Incoming",
    "Kind",
    "Link",
    "Reply",
    "Request",
    "Runtime",
    "Step",
]
