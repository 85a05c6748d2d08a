"""Integration snapshots, posted digests and stored conversation references."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.model import Snapshot
from storage.db import Scope
from storage.models import ConversationRow, DigestRow, SnapshotRow


class SqlSnapshots:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    async def record(self, snapshots: Sequence[Snapshot]) -> None:
        if not snapshots:
            return
        async with self.scope.sessions() as session, session.begin():
            org = await self.scope.org_id(session)
            session.add_all(
                SnapshotRow(
                    org_id=org,
                    source=s.source,
                    subject=s.subject,
                    metric=s.metric,
                    value=s.value,
                    seen_at=s.seen_at,
                    details=s.details,
                )
                for s in snapshots
            )

    async def latest(self, source: str, subjects: Sequence[str]) -> dict[str, Snapshot]:
        async with self.scope.sessions() as session:
            org = await self.scope.org_id(session)
            newest = (
                select(SnapshotRow.subject, func.max(SnapshotRow.id).label("id"))
                .where(
                    SnapshotRow.org_id == org,
                    SnapshotRow.source == source,
                    SnapshotRow.subject.in_(list(subjects)),
                )
                .group_by(SnapshotRow.subject)
                .subquery()
            )
            rows = (
                await session.scalars(
                    select(SnapshotRow).join(newest, SnapshotRow.id == newest.c.id)
                )
            ).all()
            return {r.subject: _snapshot(r) for r in rows}

    async def first_since(self, source: str, subject: str, at: datetime) -> Snapshot | None:
        async with self.scope.sessions() as session:
            org = await self.scope.org_id(session)
            r = await session.scalar(
                select(SnapshotRow)
                .where(
                    SnapshotRow.org_id == org,
                    SnapshotRow.source == source,
                    SnapshotRow.subject == subject,
                    SnapshotRow.seen_at >= at,
                )
                .order_by(SnapshotRow.seen_at, SnapshotRow.id)
                .limit(1)
            )
            return _snapshot(r) if r is not None else None


def _snapshot(r: SnapshotRow) -> Snapshot:
    return Snapshot(r.source, r.subject, r.metric, r.value, r.seen_at, dict(r.details or {}))


class SqlConversations:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    async def _row(self, session: AsyncSession, platform: str, key: str) -> ConversationRow | None:
        org = await self.scope.org_id(session)
        query = select(ConversationRow).where(
            ConversationRow.org_id == org,
            ConversationRow.platform == platform,
            ConversationRow.key == key,
        )
        return (await session.scalars(query)).first()

    async def save(self, platform: str, key: str, reference: dict[str, Any], at: datetime) -> None:
        async with self.scope.sessions() as session, session.begin():
            row = await self._row(session, platform, key)
            if row is None:
                org = await self.scope.org_id(session)
                session.add(
                    ConversationRow(
                        org_id=org, platform=platform, key=key, reference=reference, updated_at=at
                    )
                )
            else:
                row.reference, row.updated_at = reference, at

    async def get(self, platform: str, key: str) -> dict[str, Any] | None:
        async with self.scope.sessions() as session:
            row = await self._row(session, platform, key)
            return dict(row.reference) if row else None


class SqlDigests:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    async def last_posted(self, team: str) -> datetime | None:
        async with self.scope.sessions() as session:
            org = await self.scope.org_id(session)
            return await session.scalar(
                select(func.max(DigestRow.posted_at)).where(
                    DigestRow.org_id == org, DigestRow.team == team
                )
            )

    async def record_posted(self, team: str, at: datetime) -> None:
        async with self.scope.sessions() as session, session.begin():
            session.add(DigestRow(org_id=await self.scope.org_id(session), team=team, posted_at=at))
