"""status lookup failures keyed by HMAC of the identity and of the number, not the person

Revision ID: 0009_lookup_failures_keyed
Revises: 0008
Create Date: 2026-12-01 03:00:00

The old rows pointed at a person and were erased with them, which reset the
lockout. They are at most a day old and only count towards a lockout, so they are
dropped rather than converted (their messenger identities are not in the row).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models.base

revision: str = "0009_lookup_failures_keyed"
down_revision: str | Sequence[str] | None = "0009_viber_api_version"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("status_lookup_failures", schema=None) as batch_op:
        batch_op.drop_index("ix_status_lookup_failures_person_at")
    op.drop_table("status_lookup_failures")
    op.create_table(
        "status_lookup_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("at", storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_lookup_failures")),
    )
    with op.batch_alter_table("status_lookup_failures", schema=None) as batch_op:
        batch_op.create_index(
            "ix_status_lookup_failures_scope_key_at", ["scope", "key", "at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("status_lookup_failures", schema=None) as batch_op:
        batch_op.drop_index("ix_status_lookup_failures_scope_key_at")
    op.drop_table("status_lookup_failures")
    op.create_table(
        "status_lookup_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("at", storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_status_lookup_failures_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_lookup_failures")),
    )
    with op.batch_alter_table("status_lookup_failures", schema=None) as batch_op:
        batch_op.create_index(
            "ix_status_lookup_failures_person_at", ["person_id", "at"], unique=False
        )
