"""Twilio callbacks that acted, remembered so that a replay acts no more

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.models.types

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "twilio_callbacks_seen",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("seen_at", app.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index(
        op.f("ix_twilio_callbacks_seen_seen_at"), "twilio_callbacks_seen", ["seen_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_twilio_callbacks_seen_seen_at"), table_name="twilio_callbacks_seen")
    op.drop_table("twilio_callbacks_seen")
