"""silence_on_ack per escalation policy; who asked for a silence by SMS (and
when they were reminded of its end); a
maintenance window's public title and description for the status page

Revision ID: 0024
Revises: 0023
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import app.models.types

from alembic import op

revision: str = "0024"
down_revision: str | Sequence[str] | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("escalation_policies") as batch:
        batch.add_column(sa.Column("silence_on_ack", sa.Integer(), nullable=True))
    with op.batch_alter_table("silences") as batch:
        batch.add_column(
            sa.Column(
                "requested_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True
            )
        )
        batch.add_column(
            sa.Column("reminded_at", app.models.types.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("maintenance_windows") as batch:
        batch.add_column(
            sa.Column(
                "public_title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True
            )
        )
        batch.add_column(sa.Column("public_description", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("maintenance_windows") as batch:
        batch.drop_column("public_description")
        batch.drop_column("public_title")
    with op.batch_alter_table("silences") as batch:
        batch.drop_column("reminded_at")
        batch.drop_column("requested_by")
    with op.batch_alter_table("escalation_policies") as batch:
        batch.drop_column("silence_on_ack")
