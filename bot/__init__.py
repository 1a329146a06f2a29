"""Poruch: the core of the bot (settings, dialog engine, i18n, services, CLI)."""
