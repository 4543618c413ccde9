"""outbound messages: the queue of chat posts, webhooks and actions

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import app.models.types
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    when = app.models.types.UTCDateTime(timezone=True)
    op.create_table(
        "outbound_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("incident_number", sa.Integer(), nullable=True),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due_at", when, nullable=False),
        sa.Column("deadline", when, nullable=True),
        sa.Column("lease_owner", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("lease_until", when, nullable=True),
        sa.Column("last_result", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("created_at", when, nullable=False),
        sa.Column("updated_at", when, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "key", name="uq_outbound_kind_key"),
    )
    op.create_index("ix_outbound_due", "outbound_messages", ["state", "due_at"])
    op.create_index(
        op.f("ix_outbound_messages_incident_number"), "outbound_messages", ["incident_number"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_outbound_messages_incident_number"), table_name="outbound_messages")
    op.drop_index("ix_outbound_due", table_name="outbound_messages")
    op.drop_table("outbound_messages")
