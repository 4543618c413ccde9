"""who may acknowledge an escalation policy's incidents: anyone, or paged-only

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("escalation_policies") as batch:
        batch.add_column(
            sa.Column(
                "ack",
                sqlmodel.sql.sqltypes.AutoString(length=16),
                nullable=False,
                server_default="anyone",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("escalation_policies") as batch:
        batch.drop_column("ack")
