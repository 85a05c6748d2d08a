"""Engine, sessions, Alembic upgrades and the organisation every repository is scoped to."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import ColumnElement, create_engine, delete, event, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine
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

T = TypeVar("T")
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def make_engine(url: str) -> AsyncEngine:
    """`hide_parameters`: a database error names its statement, never the values bound to it
    (people's emails and notes), wherever it is logged."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30}, hide_parameters=True)
        event.listen(engine.sync_engine, "connect", _pragmas)
        return engine
    return create_async_engine(
        url, pool_pre_ping=True, pool_size=10, max_overflow=20, hide_parameters=True
    )


def dialect(session: AsyncSession) -> str:
    """The name of the database `session` speaks to ("sqlite", "postgresql")."""
    return session.get_bind().dialect.name


def insert_new(dialect: str, model: Any, *unique: str) -> Any:
    """INSERT … ON CONFLICT (`unique`) DO NOTHING, in `dialect`'s words: a row already there
    stays as it is."""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return insert(model.__table__).on_conflict_do_nothing(index_elements=list(unique))


def upsert(dialect: str, model: Any, unique: Sequence[str], values: dict[str, Any]) -> Any:
    """INSERT … ON CONFLICT (`unique`) DO UPDATE: the row takes `values` whether or not it was
    there, even when another transaction inserts it at the same time."""
    insert = (pg_insert if dialect == "postgresql" else sqlite_insert)(model.__table__)
    insert = insert.values(values)
    changed = {k: insert.excluded[k] for k in values if k not in unique}
    return insert.on_conflict_do_update(index_elements=list(unique), set_=changed)


def _pragmas(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


_THREADED: WeakKeyDictionary[Engine, Engine] = WeakKeyDictionary()


def threaded(bind: AsyncEngine) -> Engine:
    """SQLite: a plain (pysqlite) engine on the same file, for writes run whole in a thread."""
    found = _THREADED.get(bind.sync_engine)
    if found is None:
        found = create_engine(
            bind.url.set(drivername="sqlite+pysqlite"),
            connect_args={"timeout": 30, "check_same_thread": False},
            hide_parameters=True,
        )
        event.listen(found, "connect", _pragmas)
        _THREADED[bind.sync_engine] = found
    return found


def dispose_threaded(bind: AsyncEngine) -> None:
    found = _THREADED.pop(bind.sync_engine, None)
    if found is not None:
        found.dispose()


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


class Turns:
    """SQLite has one writer at a time. This process's writers take turns here, in order, those
    asking `first` (an ack waiting on its insert) ahead of the rest, instead of sleeping in
    SQLite's busy handler (sleeps of up to 100 ms) while another holds the lock."""

    def __init__(self) -> None:
        self.busy = False
        self.queue: list[tuple[int, int, asyncio.Future[None]]] = []
        self.order = itertools.count()

    @asynccontextmanager
    async def turn(self, first: bool = False) -> AsyncIterator[None]:
        if self.busy:
            ready = asyncio.get_running_loop().create_future()
            heapq.heappush(self.queue, (0 if first else 1, next(self.order), ready))
            try:
                await ready
            except asyncio.CancelledError:
                if ready.done() and not ready.cancelled():  # handed the turn, then cancelled
                    self._next()
                raise
        self.busy = True
        try:
            yield
        finally:
            self._next()

    def _next(self) -> None:
        while self.queue:
            ready = heapq.heappop(self.queue)[2]
            if not ready.done():
                ready.set_result(None)  # handed over: still busy
                return
        self.busy = False


_TURNS: WeakKeyDictionary[Engine, Turns] = WeakKeyDictionary()


def turns(bind: AsyncEngine) -> Turns:
    """The turns of this process's writers to `bind`'s SQLite file."""
    return _TURNS.setdefault(bind.sync_engine, Turns())


@dataclass
class Scope:
    """A session factory plus the one organisation its repositories may see."""

    sessions: async_sessionmaker[AsyncSession]
    slug: str | None = None
    _org_id: int | None = field(default=None, repr=False)

    @asynccontextmanager
    async def writing(self, *, first: bool = False) -> AsyncIterator[AsyncSession]:
        """A session in a write transaction; on SQLite, after this process's earlier writers."""
        bind = self.sessions.kw["bind"]
        if bind.dialect.name != "sqlite":
            async with self.sessions() as session, session.begin():
                yield session
            return
        async with turns(bind).turn(first), self.sessions() as session, session.begin():
            yield session

    async def at_once(self, work: Callable[[Connection], T], *, first: bool = False) -> T:
        """Run `work` in one transaction. On SQLite it runs whole in a thread: one hop from the
        event loop rather than one per statement (under load each hop waits a turn of a busy
        loop); elsewhere on the async driver."""
        bind: AsyncEngine = self.sessions.kw["bind"]
        if bind.dialect.name != "sqlite":
            async with bind.begin() as connection:
                return await connection.run_sync(work)
        engine = threaded(bind)

        def run() -> T:
            with engine.begin() as connection:
                return work(connection)

        async with turns(bind).turn(first):
            return await asyncio.to_thread(run)

    async def slugs(self) -> list[str]:
        """Every organisation in the database, by slug."""
        async with self.sessions() as session:
            return list((await session.scalars(select(OrganisationRow.slug))).all())

    async def org(self) -> int:
        """The organisation's id (read once)."""
        if self._org_id is not None:
            return self._org_id
        async with self.sessions() as session:
            return await self.org_id(session)

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
        count = gone.rowcount  # type: ignore[attr-defined]  # a DELETE gives a CursorResult
        forgotten += count
        if count < PRUNE_BATCH:
            break
    return forgotten


def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
