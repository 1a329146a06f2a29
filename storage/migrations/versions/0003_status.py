"""application statuses: applications, status history, follows, lookup failures

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 03:16:35.093832
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models.base

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "applications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("printed_number", sa.String(length=48), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("updated_at", storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("checked_at", storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_applications")),
        sa.UniqueConstraint("number", name=op.f("uq_applications_number")),
    )
    op.create_table(
        "application_follows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("created_at", storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_application_follows_application_id_applications"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_application_follows_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application_follows")),
        sa.UniqueConstraint(
            "person_id", "application_id", name=op.f("uq_application_follows_person_id")
        ),
    )
    with op.batch_alter_table("application_follows", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_application_follows_application_id"), ["application_id"], unique=False
        )

    op.create_table(
        "application_status_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("changed_at", storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_application_status_changes_application_id_applications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application_status_changes")),
    )
    with op.batch_alter_table("application_status_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_application_status_changes_application_id"),
            ["application_id"],
            unique=False,
        )

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


def downgrade() -> None:
    with op.batch_alter_table("status_lookup_failures", schema=None) as batch_op:
        batch_op.drop_index("ix_status_lookup_failures_person_at")

    op.drop_table("status_lookup_failures")
    with op.batch_alter_table("application_status_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_application_status_changes_application_id"))

    op.drop_table("application_status_changes")
    with op.batch_alter_table("application_follows", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_application_follows_application_id"))

    op.drop_table("application_follows")
    op.drop_table("applications")
