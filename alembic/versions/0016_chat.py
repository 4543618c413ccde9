"""ChatOps: a responder's Slack user id; each incident's card in the main channel

Revision ID: 0016
Revises: 0015
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import app.models.types
from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("responders") as batch:
        batch.add_column(
            sa.Column("slack_user_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
        )
        batch.create_unique_constraint("uq_responders_slack_user_id", ["slack_user_id"])
    op.create_table(
        "chat_cards",
        sa.Column("incident_number", sa.Integer(), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("ts", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("incident_channel", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("created_at", app.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["incident_number"], ["incidents.number"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("incident_number"),
    )
    op.create_index(
        op.f("ix_chat_cards_incident_channel"), "chat_cards", ["incident_channel"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_chat_cards_incident_channel"), table_name="chat_cards")
    op.drop_table("chat_cards")
    with op.batch_alter_table("responders") as batch:
        batch.drop_constraint("uq_responders_slack_user_id", type_="unique")
        batch.drop_column("slack_user_id")
