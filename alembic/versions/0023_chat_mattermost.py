"""the name of an incident's own chat channel, stored before it is created; the
Mattermost post of each card and the incident's Mattermost channel (id, name);
a responder's Mattermost user id

Revision ID: 0023
Revises: 0022
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0023"
down_revision: str | Sequence[str] | None = "0022"
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
        batch.add_column(
            sa.Column(
                "mattermost_post_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True
            )
        )
        batch.add_column(
            sa.Column(
                "mattermost_channel", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True
            )
        )
        batch.add_column(
            sa.Column(
                "mattermost_channel_name",
                sqlmodel.sql.sqltypes.AutoString(length=80),
                nullable=True,
            )
        )
    with op.batch_alter_table("responders") as batch:
        batch.add_column(
            sa.Column(
                "mattermost_user_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True
            )
        )
        batch.create_unique_constraint("uq_responders_mattermost_user_id", ["mattermost_user_id"])


def downgrade() -> None:
    with op.batch_alter_table("responders") as batch:
        batch.drop_constraint("uq_responders_mattermost_user_id", type_="unique")
        batch.drop_column("mattermost_user_id")
    with op.batch_alter_table("chat_cards") as batch:
        batch.drop_column("mattermost_channel_name")
        batch.drop_column("mattermost_channel")
        batch.drop_column("mattermost_post_id")
        batch.drop_column("incident_channel_name")
