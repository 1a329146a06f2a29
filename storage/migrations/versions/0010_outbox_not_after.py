"""timed outbox rows expire (not_after); APScheduler's persistent job table goes

Reminders and scheduled announcements are data now: a reminder is an outbox
row with a future `not_before` (and a `not_after`, past which it is pointless),
an announcement is released from its own `scheduled_at`. The old job table is
dropped without converting its rows: a pending announcement job only repeated
the announcement's `scheduled_at`, which the announcements sweep releases, and
pending reminder jobs are recomputed from the upcoming appointments at every
start (`bot.services.booking.reminders.reconcile`). On SQLite the job store was
a sibling file (`….jobs.sqlite3`), which nothing reads any more.

Revision ID: 0010_outbox_not_after
Revises: 0009_console
Create Date: 2026-12-01 06:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models.base

revision: str = "0010_outbox_not_after"
down_revision: str | Sequence[str] | None = "0009_console"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_JOBS_TABLE = "apscheduler_jobs"


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("not_after", storage.models.base.UTCDateTime(timezone=True), nullable=True)
        )
    if OLD_JOBS_TABLE in sa.inspect(op.get_bind()).get_table_names():
        op.drop_table(OLD_JOBS_TABLE)


def downgrade() -> None:
    # The job table is not restored: an older version creates it again at its start,
    # and its own reconcile schedules the reminders again.
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("not_after")
