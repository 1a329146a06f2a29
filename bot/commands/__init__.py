"""CLI commands, one module per feature; each registers itself with `bot.cli.command`."""
