"""key result kinds: "metric" becomes "increase" beside decrease and keep-above/below; checkpoints

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY_RESULTS = sa.table("key_results", sa.column("kind", sa.String))


def upgrade() -> None:
    with op.batch_alter_table("key_results") as batch:
        batch.add_column(sa.Column("checkpoints", sa.JSON(), nullable=True))
    kind = KEY_RESULTS.c.kind
    op.execute(KEY_RESULTS.update().where(kind == "metric").values(kind="increase"))


def downgrade() -> None:
    # Before 0013 only "metric" and "milestone" existed: every kind that moves toward a target
    # or keeps a level goes back as a metric, the closest the old code can show.
    kind = KEY_RESULTS.c.kind
    op.execute(KEY_RESULTS.update().where(kind != "milestone").values(kind="metric"))
    with op.batch_alter_table("key_results") as batch:
        batch.drop_column("checkpoints")
