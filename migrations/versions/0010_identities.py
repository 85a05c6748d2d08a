"""identities: how other systems know a person, one row per (person, kind), not one column each

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")
# The columns there were, the kind each becomes (the only CRM and tracker there were), and the
# column's length.
COLUMNS = {
    "slack_id": ("slack", 64),
    "teams_id": ("teams", 128),
    "crm_id": ("salesforce", 64),
    "tracker_id": ("jira", 128),
}
INDEXED = ("slack_id", "teams_id")
people = sa.table(
    "people",
    sa.column("id", sa.Integer),
    sa.column("org_id", sa.Integer),
    *(sa.column(name, sa.String) for name in COLUMNS),
)
identities = sa.table(
    "identities",
    sa.column("org_id", sa.Integer),
    sa.column("person_id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("value", sa.String),
)


def upgrade() -> None:
    bind = op.get_bind()
    rows: list[dict[str, object]] = []
    seen: set[tuple[object, str, str]] = set()
    for person in bind.execute(sa.select(people).order_by(people.c.id)).mappings():
        for column, (kind, _length) in COLUMNS.items():
            value = person[column]
            if not value:
                continue
            if (person["org_id"], kind, value) in seen:  # ids are now unique in an organisation
                log.warning(
                    "people.%s of person %s is another's too: left out", column, person["id"]
                )
                continue
            seen.add((person["org_id"], kind, value))
            rows.append(
                {
                    "org_id": person["org_id"],
                    "person_id": person["id"],
                    "kind": kind,
                    "value": value,
                }
            )
    # The columns go before the table referring to people exists: SQLite copies `people` to drop
    # them, and dropping the old copy would cascade to identities already written.
    with op.batch_alter_table("people") as batch:
        for column in INDEXED:
            batch.drop_index(f"ix_people_{column}")
        for column in COLUMNS:
            batch.drop_column(column)
    op.create_table(
        "identities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("value", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org_id", "kind", "value"),
        sa.UniqueConstraint("person_id", "kind"),
    )
    op.create_index("ix_identities_org_id", "identities", ["org_id"])
    if rows:
        op.bulk_insert(identities, rows)


def downgrade() -> None:
    bind = op.get_bind()
    column_of = {kind: column for column, (kind, _length) in COLUMNS.items()}
    values: dict[object, dict[str, object]] = {}
    for found in bind.execute(sa.select(identities)).mappings():
        if found["kind"] in column_of:  # kinds added since had no column: they are not kept
            values.setdefault(found["person_id"], {})[column_of[found["kind"]]] = found["value"]
    op.drop_index("ix_identities_org_id", table_name="identities")
    op.drop_table("identities")
    with op.batch_alter_table("people") as batch:
        for column, (_kind, length) in COLUMNS.items():
            batch.add_column(sa.Column(column, sa.String(length=length), nullable=True))
        for column in INDEXED:
            batch.create_index(f"ix_people_{column}", [column])
    if values:
        restore = (
            people.update()
            .where(people.c.id == sa.bindparam("person"))
            .values({column: sa.bindparam(f"new_{column}") for column in COLUMNS})
        )
        bind.execute(
            restore,
            [
                {"person": person} | {f"new_{c}": columns.get(c) for c in COLUMNS}
                for person, columns in values.items()
            ],
        )
