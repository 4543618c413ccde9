"""outgoing webhooks: when the gap the mark waits at was first seen

Revision ID: 0021
Revises: 0020
"""

from collections.abc import Sequence

import sqlalchemy as sa

import app.models.types
from alembic import op

revision: str = "0021"
down_revision: str | Sequence[str] | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_marks") as batch:
        batch.add_column(sa.Column("gap_id", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("gap_seen_at", app.models.types.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_marks") as batch:
        batch.drop_column("gap_seen_at")
        batch.drop_column("gap_id")
