"""Statistics without personal data: counted from the database, for the CLI and staff."""
