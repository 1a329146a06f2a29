"""Messages the bot starts itself: status changes, reminders, announcements.

Everything goes through one durable outbox (`outbox.enqueue`): a row per
recipient, written in the same transaction as the change that caused it, so a
crash can neither lose a message nor send it twice once it is confirmed. A
worker drains the outbox through each platform's `Messenger`, within its rate
limit.
"""

from bot.delivery.messenger import DeliveryResult, Messenger, Messengers, Outcome
from bot.delivery.outbox import enqueue
from bot.engine.events import reply_from_json, reply_to_json

__all__ = [
    "DeliveryResult",
    "Messenger",
    "Messengers",
    "Outcome",
    "enqueue",
    "reply_from_json",
    "reply_to_json",
]
