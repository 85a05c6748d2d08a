"""Storage: SQLAlchemy repositories behind the core's ports; rows never leave this package."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import Scope, dispose_threaded, make_engine, sessionmaker, upgrade
from storage.directory import SqlDirectory
from storage.inbox import SqlInbox
from storage.installations import SqlInstallations, SqlOAuthStates
from storage.ledger import SqlLedger
from storage.outbox import SqlOutbox
from storage.records import SqlConversations, SqlDigests, SqlSnapshots
from storage.secrets import SecretBox

__all__ = ["SecretBox", "Store", "open_store", "upgrade"]


@dataclass(frozen=True)
class Store:
    """One organisation's repositories, plus what belongs to no single organisation (the Slack
    installations and OAuth states)."""

    engine: AsyncEngine
    scope: Scope
    directory: SqlDirectory
    outbox: SqlOutbox
    ledger: SqlLedger
    snapshots: SqlSnapshots
    digests: SqlDigests
    conversations: SqlConversations
    inbox: SqlInbox
    installations: SqlInstallations
    oauth_states: SqlOAuthStates

    def for_org(self, slug: str) -> Store:
        """The repositories of organisation `slug`, on the same engine (close only the first)."""
        return _store(self.engine, Scope(self.scope.sessions, slug), self.installations.box)

    async def close(self) -> None:
        dispose_threaded(self.engine)
        await self.engine.dispose()


def _store(engine: AsyncEngine, scope: Scope, box: SecretBox | None) -> Store:
    return Store(
        engine,
        scope,
        SqlDirectory(scope),
        SqlOutbox(scope),
        SqlLedger(scope),
        SqlSnapshots(scope),
        SqlDigests(scope),
        SqlConversations(scope),
        SqlInbox(scope),
        SqlInstallations(scope.sessions, box),
        SqlOAuthStates(scope.sessions),
    )


def open_store(url: str, org: str | None = None, box: SecretBox | None = None) -> Store:
    """Repositories for one organisation (`org` slug; None means the only one there is);
    `box` encrypts and decrypts the stored tokens."""
    engine = make_engine(url)
    return _store(engine, Scope(sessionmaker(engine), org), box)
