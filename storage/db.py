"""Engine, sessions, Alembic upgrades and the organisation every repository is scoped to."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import ColumnElement, delete, event, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from bot.core.errors import ConfigError, DatabaseUnavailable, NotSetUp
from bot.core.firstrun import not_set_up
from storage.models import OrganisationRow

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def make_engine(url: str) -> AsyncEngine:
    """`hide_parameters`: a database error names its statement, never the values bound to it
    (people's emails and notes), wherever it is logged."""
    if url.startswith("sqlite"):
        # One connection, handed out in turn: SQLite has one writer at a time, and writers that
        # race for it wait in SQLite's busy handler (sleeps of up to 100 ms), not in a queue.
        engine = create_async_engine(
            url,
            connect_args={"timeout": 30},
            hide_parameters=True,
            pool_size=1,
            max_overflow=0,
            pool_timeout=60,
        )

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_connection, _record) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    return create_async_engine(
        url, pool_pre_ping=True, pool_size=10, max_overflow=20, hide_parameters=True
    )


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


@contextmanager
def reachable() -> Iterator[None]:
    """Connection failures as one DatabaseUnavailable, whichever driver raised them."""
    try:
        yield
    except (OSError, OperationalError, InterfaceError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise DatabaseUnavailable(f"cannot reach the database (DATABASE_URL): {reason}") from exc


async def upgrade(url: str, revision: str = "head") -> None:
    """Bring the schema at `url` to `revision` (Alembic runs its own loop, so in a thread)."""
    with reachable():
        await asyncio.to_thread(command.upgrade, alembic_config(url), revision)


async def schema_is_current(engine: AsyncEngine) -> bool:
    head = ScriptDirectory.from_config(alembic_config(str(engine.url))).get_current_head()

    def current(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    with reachable():
        async with engine.connect() as connection:
            return await connection.run_sync(current) == head


@dataclass
class Scope:
    """A session factory plus the one organisation its repositories may see."""

    sessions: async_sessionmaker[AsyncSession]
    slug: str | None = None
    _org_id: int | None = field(default=None, repr=False)

    async def org_id(
        self, session: AsyncSession, *, create: tuple[str, str, str] | None = None
    ) -> int:
        if self._org_id is not None:
            return self._org_id
        query = select(OrganisationRow)
        if self.slug:
            query = query.where(OrganisationRow.slug == self.slug)
        rows = list((await session.scalars(query)).all())
        if not rows and create:
            row = OrganisationRow(slug=self.slug or create[0], name=create[1], timezone=create[2])
            session.add(row)
            await session.flush()
            rows = [row]
        if not rows:
            raise NotSetUp(not_set_up())
        if len(rows) > 1:
            slugs = ", ".join(r.slug for r in rows)
            raise ConfigError(f"Several organisations ({slugs}): set GOALNUDGE_ORG to one of them.")
        self._org_id = rows[0].id
        self.slug = rows[0].slug
        return rows[0].id


PRUNE_BATCH = 1000  # rows per delete: short transactions, never a long lock
PRUNE_BATCHES = 20  # per call: a backlog is worked off over a few rounds


async def prune(scope: Scope, row: Any, *where: ColumnElement[bool]) -> int:
    """Delete the organisation's rows of model `row` that match `where`, a batch at a time."""
    forgotten = 0
    for _ in range(PRUNE_BATCHES):
        async with scope.sessions() as session, session.begin():
            org = await scope.org_id(session)
            ids = select(row.id).where(row.org_id == org, *where).limit(PRUNE_BATCH)
            gone = await session.execute(delete(row).where(row.id.in_(ids.scalar_subquery())))
        count = gone.rowcount  # type: ignore[attr-defined]
        forgotten += count
        if count < PRUNE_BATCH:
            break
    return forgotten


def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
