"""change events; triage: affected_customers as text (a count or an estimate), regions

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import app.models.types
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPEN = sa.text("status != 'resolved'")


def _retype_affected_customers(to: sa.types.TypeEngine[object], using: str) -> None:
    """PostgreSQL converts in place; SQLite rebuilds the table, whose partial
    unique index is dropped first and made again after, so that the rebuild
    cannot turn it into a plain (wrong) unique index."""
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("incidents", "affected_customers", type_=to, postgresql_using=using)
        return
    op.drop_index("uq_incidents_open_group_key", table_name="incidents")
    with op.batch_alter_table("incidents", recreate="always") as batch:
        batch.alter_column("affected_customers", type_=to)
    op.create_index(
        "uq_incidents_open_group_key",
        "incidents",
        ["group_key"],
        unique=True,
        sqlite_where=_OPEN,
        postgresql_where=_OPEN,
    )


def upgrade() -> None:
    op.create_table(
        "change_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("summary", sqlmodel.sql.sqltypes.AutoString(length=1024), nullable=False),
        sa.Column("version", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("who", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=1024), nullable=True),
        sa.Column("links", sa.JSON(), nullable=False),
        sa.Column("custom_details", sa.JSON(), nullable=True),
        sa.Column("at", app.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("via", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("received_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("received_at", app.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("dedup_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedup_key"),
    )
    op.create_index("ix_change_events_service_at", "change_events", ["service", "at"])

    # Existing counts stay readable: 1200 becomes "1200", which the API
    # answers as the number 1200.
    _retype_affected_customers(
        sqlmodel.sql.sqltypes.AutoString(length=100), "affected_customers::text"
    )
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("regions", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("regions")
    # Estimates that are not a plain count ("~3k") cannot be kept as a number.
    op.execute(
        "UPDATE incidents SET affected_customers = NULL WHERE affected_customers IS NOT NULL"
        " AND (affected_customers = '' OR length(affected_customers) > 9"
        " OR affected_customers GLOB '*[^0-9]*')"
        if op.get_bind().dialect.name == "sqlite"
        else "UPDATE incidents SET affected_customers = NULL WHERE affected_customers !~ '^[0-9]{1,9}$'"
    )
    _retype_affected_customers(sa.Integer(), "affected_customers::integer")
    op.drop_index("ix_change_events_service_at", table_name="change_events")
    op.drop_table("change_events")
