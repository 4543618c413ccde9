"""automation: outgoing webhooks' subscriptions and their mark on the timeline

Revision ID: 0017
Revises: 0016
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import app.models.types
from alembic import op

revision: str = "0017"

down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("created_at", app.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "webhook_marks",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("last_event_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    # Webhooks start from now: the events of the past are never sent.
    op.execute(
        "INSERT INTO webhook_marks (name, last_event_id)"
        " SELECT 'webhooks', COALESCE(MAX(id), 0) FROM timeline_events"
    )


def downgrade() -> None:
    op.drop_table("webhook_marks")
    op.drop_table("webhook_subscriptions")
