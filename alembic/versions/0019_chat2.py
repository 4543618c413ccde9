"""the name of an incident's own chat channel, stored before it is created

Revision ID: 0019_chat2
Revises: 0018
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0019_chat2"
down_revision: str | Sequence[str] | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("chat_cards") as batch:
        batch.add_column(
            sa.Column(
                "incident_channel_name",
                sqlmodel.sql.sqltypes.AutoString(length=80),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("chat_cards") as batch:
        batch.drop_column("incident_channel_name")
