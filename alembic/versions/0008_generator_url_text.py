"""an alert's generator URL is stored whole: text, not varchar(2000)

Alertmanager's generatorURL carries the alert's whole PromQL expression and
has no length limit; one over 2,000 characters made the whole notification a
422 on PostgreSQL, losing the other alerts in it.

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.alter_column(
            "generator_url",
            existing_type=sqlmodel.sql.sqltypes.AutoString(length=2000),
            type_=sa.Text(),
            existing_nullable=True,
        )


def downgrade() -> None:
    # Longer URLs are cut to fit (PostgreSQL would refuse the change otherwise).
    op.execute("UPDATE alerts SET generator_url = substr(generator_url, 1, 2000)")
    with op.batch_alter_table("alerts") as batch:
        batch.alter_column(
            "generator_url",
            existing_type=sa.Text(),
            type_=sqlmodel.sql.sqltypes.AutoString(length=2000),
            existing_nullable=True,
        )
