"""who put each schedule override in place (the token's name)

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Overrides made before this revision have no known author: NULL.
    op.add_column(
        "schedule_overrides",
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    )


def downgrade() -> None:
    with op.batch_alter_table("schedule_overrides") as batch:
        batch.drop_column("created_by")
