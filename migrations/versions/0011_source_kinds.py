"""source kinds: a key result's query in its tracker's own language; snapshots keyed by kind

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Readings were stored under the source's display name; they are now stored under its kind.
NAMES = {"Salesforce": "salesforce", "Jira": "jira"}


def upgrade() -> None:
    with op.batch_alter_table("key_results") as batch:
        batch.alter_column("source_jql", new_column_name="source_query")
    snapshots = sa.table("snapshots", sa.column("source", sa.String))
    for name, kind in NAMES.items():
        op.execute(snapshots.update().where(snapshots.c.source == name).values(source=kind))


def downgrade() -> None:
    snapshots = sa.table("snapshots", sa.column("source", sa.String))
    for name, kind in NAMES.items():
        op.execute(snapshots.update().where(snapshots.c.source == kind).values(source=name))
    with op.batch_alter_table("key_results") as batch:
        batch.alter_column("source_query", new_column_name="source_jql")
