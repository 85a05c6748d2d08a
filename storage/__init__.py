"""Storage: SQLAlchemy repositories behind the core's ports; rows never leave this package."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import Scope, make_engine, sessionmaker, upgrade
from storage.directory import SqlDirectory
from storage.ledger import SqlLedger
from storage.outbox import SqlOutbox
from storage.records import SqlConversations, SqlDigests, SqlSnapshots

__all__ = ["Store", "open_store", "upgrade"]


@dataclass(frozen=True)
class Store:
    engine: AsyncEngine
    scope: Scope
    directory: SqlDirectory
    outbox: SqlOutbox
    ledger: SqlLedger
    snapshots: SqlSnapshots
    digests: SqlDigests
    conversations: SqlConversations

    async def close(self) -> None:
        await self.engine.dispose()


def open_store(url: str, org: str | None = None) -> Store:
    """Repositories for one organisation (`org` slug; None means the only one there is)."""
    engine = make_engine(url)
    scope = Scope(sessionmaker(engine), org)
    return Store(
        engine,
        scope,
        SqlDirectory(scope),
        SqlOutbox(scope),
        SqlLedger(scope),
        SqlSnapshots(scope),
        SqlDigests(scope),
        SqlConversations(scope),
    )
