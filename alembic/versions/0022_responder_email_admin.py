"""responders' e-mail (single sign-on) and admin flag; how a console session began

Revision ID: 0022
Revises: 0021
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0022"
down_revision: str | Sequence[str] | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("responders") as batch:
        batch.add_column(
            sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True)
        )
        batch.add_column(
            sa.Column("admin", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.create_unique_constraint("uq_responders_email", ["email"])
    with op.batch_alter_table("console_sessions") as batch:
        batch.add_column(
            sa.Column(
                "via",
                sqlmodel.sql.sqltypes.AutoString(length=8),
                nullable=False,
                server_default="code",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("console_sessions") as batch:
        batch.drop_column("via")
    with op.batch_alter_table("responders") as batch:
        batch.drop_constraint("uq_responders_email", type_="unique")
        batch.drop_column("admin")
        batch.drop_column("email")
