"""Application status: numbers, CSV import, private lookup, follows, notices, registry."""
