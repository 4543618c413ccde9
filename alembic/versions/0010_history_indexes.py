"""indexes that keep lists, filters, reports and ingest flat as history grows

Revision ID: 0010
Revises: 0009

A year of a busy shop is a million alerts and a hundred thousand incidents
(issue 13.4). Each list filter gets an index of (column, key) so that a filter
matching little stops at once; the response report finds its window by
``incidents.created_at`` and ``notifications.sent_at``; ingest reads the firing
episode of a fingerprint through a partial index instead of every episode it
ever had; a flapping group's last incident is found by its group key.

On PostgreSQL, label filters are ``klaxon_labels_jsonb(labels) @> {name:
value}``, answered by a GIN index on that expression (SQLite reads JSON with
``json_extract``; its databases are small). ``klaxon_labels_jsonb`` is
``labels::jsonb``, except for labels holding an escaped NUL (stored before a NUL
was refused at the door), which jsonb cannot hold: those are NULL, matching no
filter, instead of failing every filter for everyone (and this migration, when
it builds the index over such a row). These expression indexes are PostgreSQL's
only and are not in the models' metadata (SQLAlchemy cannot say "this dialect
only").

The indexes are built in the migration's transaction: on a large existing
database, writes to these tables wait while they are built.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FIRING = "status = 'firing'"
#: PostgreSQL only: (index, table).
LABEL_INDEXES = (("ix_alerts_labels", "alerts"), ("ix_incidents_labels", "incidents"))
#: PostgreSQL only: a JSON labels column as jsonb, or NULL when its text holds an
#: escaped NUL (``\\u0000`` after an even run of backslashes), which jsonb refuses.
#: The same pattern as app.incidents.queries._JSON_NUL. IMMUTABLE, so an index
#: may use it; app.incidents.queries calls it by this name.
LABELS_JSONB = r"""
CREATE FUNCTION klaxon_labels_jsonb(labels json) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT CASE
    WHEN labels::text ~ '(^|[^\\])(\\\\)*\\u0000' THEN NULL
    ELSE labels::jsonb
END
$$
"""


def upgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index("ix_alerts_service_id", ["service", "id"], unique=False)
        batch_op.create_index("ix_alerts_severity_id", ["severity", "id"], unique=False)
        batch_op.create_index("ix_alerts_status_id", ["status", "id"], unique=False)
        batch_op.create_index(
            "ix_alerts_firing_identity",
            ["source", "fingerprint"],
            unique=False,
            postgresql_where=sa.text(FIRING),
            sqlite_where=sa.text(FIRING),
        )
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index("ix_incidents_severity")
        batch_op.drop_index("ix_incidents_service")
        batch_op.create_index("ix_incidents_severity_number", ["severity", "number"], unique=False)
        batch_op.create_index("ix_incidents_service_number", ["service", "number"], unique=False)
        batch_op.create_index("ix_incidents_created_at", ["created_at"], unique=False)
        batch_op.create_index(
            "ix_incidents_group_key_number", ["group_key", "number"], unique=False
        )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index("ix_notifications_sent_at", ["sent_at"], unique=False)
    if op.get_context().dialect.name == "postgresql":
        op.execute(LABELS_JSONB)
        for index, table in LABEL_INDEXES:
            op.execute(
                f"CREATE INDEX {index} ON {table}"
                " USING gin (klaxon_labels_jsonb(labels) jsonb_path_ops)"
            )


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        for index, _ in LABEL_INDEXES:
            op.execute(f"DROP INDEX {index}")
        op.execute("DROP FUNCTION klaxon_labels_jsonb(json)")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_sent_at")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index("ix_incidents_group_key_number")
        batch_op.drop_index("ix_incidents_created_at")
        batch_op.drop_index("ix_incidents_service_number")
        batch_op.drop_index("ix_incidents_severity_number")
        batch_op.create_index("ix_incidents_service", ["service"], unique=False)
        batch_op.create_index("ix_incidents_severity", ["severity"], unique=False)
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_firing_identity")
        batch_op.drop_index("ix_alerts_status_id")
        batch_op.drop_index("ix_alerts_severity_id")
        batch_op.drop_index("ix_alerts_service_id")
