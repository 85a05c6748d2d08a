"""processed_events: an index on (org_id, at), so ids older than a day are forgotten cheaply

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_processed_events_at", "processed_events", ["org_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_processed_events_at", table_name="processed_events")
