"""checkins: an index on the period, for "who already has a prompt this period" every round

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_checkins_period", "checkins", ["org_id", "slot", "period"])


def downgrade() -> None:
    op.drop_index("ix_checkins_period", table_name="checkins")
