"""The Viber adapter: signed webhook callbacks in, Viber keyboards and messages out."""

from handlers.viber.adapter import ADAPTER_KEY, WEBHOOK_PATH, ViberAdapter, viber_adapter
from handlers.viber.client import ViberClient
from handlers.viber.messenger import ViberMessenger

__all__ = [
    "ADAPTER_KEY",
    "WEBHOOK_PATH",
    "ViberAdapter",
    "ViberClient",
    "ViberMessenger",
    "viber_adapter",
]
