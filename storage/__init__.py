"""Persistence: SQLAlchemy 2 async models, repositories and Alembic migrations.

Repositories query and never commit; the caller (the engine or a CLI command)
owns the transaction.
"""
