"""incident response: triage, status updates, post-mortems, action items

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import app.models.types
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Triage fields on incidents; all nullable, so existing rows need nothing.
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("description", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("impact", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("affected_customers", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("affected_services", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("started_at", app.models.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("recent_changes", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("workaround", sa.Text(), nullable=True))

    # A handoff SMS is about no one incident.
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.alter_column("incident_number", existing_type=sa.Integer(), nullable=True)

    op.create_table(
        "status_updates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_number", sa.Integer(), nullable=False),
        sa.Column("phase", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("severity", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
        sa.Column("impact", sa.Text(), nullable=True),
        sa.Column("started_at", app.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("author", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("created_at", app.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["incident_number"], ["incidents.number"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("status_updates", schema=None) as batch_op:
        batch_op.create_index("ix_status_updates_incident", ["incident_number", "id"], unique=False)

    op.create_table(
        "stakeholders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("opt_in", sa.Boolean(), nullable=False),
        sa.Column("created_at", app.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("service", "name", name="uq_stakeholders_service_name"),
    )

    op.create_table(
        "postmortems",
        sa.Column("incident_number", sa.Integer(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("root_cause", sa.Text(), nullable=True),
        sa.Column("lessons_learned", sa.Text(), nullable=True),
        sa.Column("impact_notes", sa.Text(), nullable=True),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("created_at", app.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["incident_number"], ["incidents.number"]),
        sa.PrimaryKeyConstraint("incident_number"),
    )

    op.create_table(
        "action_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_number", sa.Integer(), nullable=False),
        sa.Column("task", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("owner", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("created_at", app.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("done_at", app.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["incident_number"], ["incidents.number"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("action_items", schema=None) as batch_op:
        batch_op.create_index("ix_action_items_incident", ["incident_number"], unique=False)
        batch_op.create_index("ix_action_items_status_due", ["status", "due"], unique=False)

    op.create_table(
        "handoff_marks",
        sa.Column("schedule_id", sa.Integer(), nullable=False),
        sa.Column("through", app.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["schedule_id"], ["schedules.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("schedule_id"),
    )

    op.create_table(
        "repeat_summaries",
        sa.Column("incident_number", sa.Integer(), nullable=False),
        sa.Column("counted", sa.Integer(), nullable=False),
        sa.Column("counted_at", app.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["incident_number"], ["incidents.number"]),
        sa.PrimaryKeyConstraint("incident_number"),
    )


def downgrade() -> None:
    op.drop_table("repeat_summaries")
    op.drop_table("handoff_marks")
    with op.batch_alter_table("action_items", schema=None) as batch_op:
        batch_op.drop_index("ix_action_items_status_due")
        batch_op.drop_index("ix_action_items_incident")
    op.drop_table("action_items")
    op.drop_table("postmortems")
    op.drop_table("stakeholders")
    with op.batch_alter_table("status_updates", schema=None) as batch_op:
        batch_op.drop_index("ix_status_updates_incident")
    op.drop_table("status_updates")

    # Handoff notices have no incident; they cannot stay in a NOT NULL column.
    op.execute("DELETE FROM notifications WHERE incident_number IS NULL")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.alter_column("incident_number", existing_type=sa.Integer(), nullable=False)

    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_column("workaround")
        batch_op.drop_column("recent_changes")
        batch_op.drop_column("started_at")
        batch_op.drop_column("affected_services")
        batch_op.drop_column("affected_customers")
        batch_op.drop_column("impact")
        batch_op.drop_column("description")
