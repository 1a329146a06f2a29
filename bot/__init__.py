"""Poruch: the core of the bot (settings, dialog engine, i18n, services, CLI)."""

from bot.lazy_models import defer_aiogram_models

defer_aiogram_models()  # before anything imports aiogram: bot/lazy_models.py
