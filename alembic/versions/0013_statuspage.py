"""the public status page: public incidents, their updates and components

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import app.models.types
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_String = sqlmodel.sql.sqltypes.AutoString
_When = app.models.types.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "public_incidents",
        sa.Column("incident_number", sa.Integer(), nullable=False),
        sa.Column("public_id", _String(length=16), nullable=False),
        sa.Column("name", _String(length=200), nullable=False),
        sa.Column("impact", _String(length=16), nullable=False),
        sa.Column("status", _String(length=16), nullable=False),
        sa.Column("published_by", _String(length=200), nullable=False),
        sa.Column("created_at", _When(timezone=True), nullable=False),
        sa.Column("updated_at", _When(timezone=True), nullable=False),
        sa.Column("monitoring_at", _When(timezone=True), nullable=True),
        sa.Column("resolved_at", _When(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["incident_number"], ["incidents.number"]),
        sa.PrimaryKeyConstraint("incident_number"),
        sa.UniqueConstraint("public_id"),
    )
    op.create_index("ix_public_incidents_created_at", "public_incidents", ["created_at"])
    op.create_table(
        "public_incident_updates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_number", sa.Integer(), nullable=False),
        sa.Column("public_id", _String(length=16), nullable=False),
        sa.Column("status", _String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("author", _String(length=200), nullable=False),
        sa.Column("created_at", _When(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["incident_number"], ["public_incidents.incident_number"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("public_id"),
    )
    op.create_index(
        "ix_public_incident_updates_incident",
        "public_incident_updates",
        ["incident_number", "id"],
    )
    op.create_table(
        "public_incident_components",
        sa.Column("incident_number", sa.Integer(), nullable=False),
        sa.Column("service", _String(length=200), nullable=False),
        sa.Column("status", _String(length=24), nullable=False),
        sa.Column("worst", _String(length=24), nullable=False),
        sa.Column("updated_at", _When(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["incident_number"], ["public_incidents.incident_number"]),
        sa.PrimaryKeyConstraint("incident_number", "service"),
    )


def downgrade() -> None:
    op.drop_table("public_incident_components")
    op.drop_index("ix_public_incident_updates_incident", table_name="public_incident_updates")
    op.drop_table("public_incident_updates")
    op.drop_index("ix_public_incidents_created_at", table_name="public_incidents")
    op.drop_table("public_incidents")
