"""viber delivery receipts

Revision ID: 0006
Revises: 0002
Create Date: 2026-11-26 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models.base

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "viber_receipts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_token", sa.String(length=24), nullable=False),
        sa.Column("event", sa.String(length=16), nullable=False),
        sa.Column("receiver_key", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("at", storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_viber_receipts")),
        sa.UniqueConstraint(
            "message_token",
            "event",
            "receiver_key",
            name=op.f("uq_viber_receipts_message_token"),
        ),
    )
    with op.batch_alter_table("viber_receipts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_viber_receipts_at"), ["at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_viber_receipts_message_token"), ["message_token"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("viber_receipts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_viber_receipts_message_token"))
        batch_op.drop_index(batch_op.f("ix_viber_receipts_at"))
    op.drop_table("viber_receipts")
