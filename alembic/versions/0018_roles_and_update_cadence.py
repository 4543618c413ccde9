"""incident roles; the update cadence's timers; what each status update said of both

Revision ID: 0018
Revises: 0017
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import app.models.types
from alembic import op

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SINGLE = sa.text("role != 'sme'")


def upgrade() -> None:
    op.create_table(
        "incident_roles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_number", sa.Integer(), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("responder", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("assigned_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("assigned_at", app.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["incident_number"], ["incidents.number"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "incident_number", "role", "responder", name="uq_incident_roles_holder"
        ),
    )
    op.create_index(
        "uq_incident_roles_single",
        "incident_roles",
        ["incident_number", "role"],
        unique=True,
        sqlite_where=_SINGLE,
        postgresql_where=_SINGLE,
    )
    # Whoever acknowledged an incident commands it until someone else does.
    op.execute(
        "INSERT INTO incident_roles (incident_number, role, responder, assigned_by, assigned_at)"
        " SELECT number, 'commander', acknowledged_by, acknowledged_by, acknowledged_at"
        " FROM incidents WHERE acknowledged_by IS NOT NULL AND acknowledged_at IS NOT NULL"
    )
    op.create_table(
        "update_clocks",
        sa.Column("incident_number", sa.Integer(), nullable=False),
        sa.Column("since_at", app.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reminded_at", app.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["incident_number"], ["incidents.number"]),
        sa.PrimaryKeyConstraint("incident_number"),
    )
    with op.batch_alter_table("status_updates") as batch:
        batch.add_column(sa.Column("roles", sa.JSON(), nullable=True))
        batch.add_column(
            sa.Column(
                "next_update_at", app.models.types.UTCDateTime(timezone=True), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("status_updates") as batch:
        batch.drop_column("next_update_at")
        batch.drop_column("roles")
    op.drop_table("update_clocks")
    op.drop_index("uq_incident_roles_single", table_name="incident_roles")
    op.drop_table("incident_roles")
