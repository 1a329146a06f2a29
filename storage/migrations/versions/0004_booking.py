"""booking: appointments, slot seats (no double booking), waiting lists

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-26 03:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models.base

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = storage.models.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "appointments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.String(length=24), nullable=False),
        sa.Column("service_id", sa.String(length=24), nullable=False),
        sa.Column("starts_at", UTC, nullable=False),
        sa.Column("ends_at", UTC, nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("hold_until", UTC, nullable=True),
        sa.Column("replaces_id", sa.Integer(), nullable=True),
        sa.Column("waitlist_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_appointments_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointments")),
        sa.UniqueConstraint("code", name=op.f("uq_appointments_code")),
    )
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_appointments_office_start", ["office_id", "starts_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_appointments_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_appointments_state"), ["state"], unique=False)
        batch_op.create_index(
            "uq_appointments_booked_service",
            ["person_id", "service_id"],
            unique=True,
            sqlite_where=sa.text("state = 'booked'"),
            postgresql_where=sa.text("state = 'booked'"),
        )

    op.create_table(
        "slot_seats",
        sa.Column("office_id", sa.String(length=24), nullable=False),
        sa.Column("starts_at", UTC, nullable=False),
        sa.Column("seat_no", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.Column("held_until", UTC, nullable=True),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_slot_seats_appointment_id_appointments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("office_id", "starts_at", "seat_no", name=op.f("pk_slot_seats")),
    )
    with op.batch_alter_table("slot_seats", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_slot_seats_appointment_id"), ["appointment_id"], unique=False
        )

    op.create_table(
        "waitlist",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.String(length=24), nullable=False),
        sa.Column("service_id", sa.String(length=24), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.Column("offer_appointment_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_waitlist_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist")),
    )
    with op.batch_alter_table("waitlist", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_waitlist_person_id"), ["person_id"], unique=False)
        batch_op.create_index(
            "ix_waitlist_queue", ["office_id", "state", "created_at"], unique=False
        )
        batch_op.create_index(
            "uq_waitlist_open",
            ["person_id", "office_id", "service_id"],
            unique=True,
            sqlite_where=sa.text("state IN ('waiting', 'offered')"),
            postgresql_where=sa.text("state IN ('waiting', 'offered')"),
        )


def downgrade() -> None:
    op.drop_table("waitlist")
    op.drop_table("slot_seats")
    op.drop_table("appointments")
