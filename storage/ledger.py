"""Progress history and blockers; an answer is written whole or not at all."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import IntegrityError

from bot.core.model import Blocker, ProgressUpdate
from bot.core.ports import Applied, Change
from storage import convert
from storage.changes import apart, write
from storage.db import Scope, prune
from storage.models import (
    BlockerRow,
    ProcessedEventRow,
    ProgressUpdateRow,
)


class SqlLedger:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    async def forget_processed(self, before: datetime) -> int:
        return await prune(self.scope, ProcessedEventRow, ProcessedEventRow.at < before)

    async def apply(self, change: Change) -> Applied:
        return (await self.apply_all([change]))[0]

    async def apply_all(self, changes: Sequence[Change]) -> list[Applied]:
        """One transaction for all of them (a commit per batch, not per answer); should one
        break a constraint the checks did not foresee, each is applied on its own instead."""
        if not changes:
            return []
        try:
            async with self.scope.writing() as session:
                org = await self.scope.org_id(session)
                return [r for group in apart(changes) for r in await write(session, org, group)]
        except IntegrityError:
            if len(changes) == 1:
                return [Applied.DUPLICATE]
        return [(await self.apply_all([change]))[0] for change in changes]

    async def _updates(self, *where: ColumnElement[bool]) -> list[ProgressUpdate]:
        async with self.scope.sessions() as session:
            org = await self.scope.org_id(session)
            query = (
                select(ProgressUpdateRow)
                .where(ProgressUpdateRow.org_id == org, *where)
                .order_by(ProgressUpdateRow.at, ProgressUpdateRow.id)
            )
            return [convert.update(r) for r in (await session.scalars(query)).all()]

    async def updates_since(self, since: datetime | None) -> list[ProgressUpdate]:
        return await self._updates(*([ProgressUpdateRow.at >= since] if since else []))

    async def history(self, kr: str) -> list[ProgressUpdate]:
        return await self._updates(ProgressUpdateRow.kr == kr)

    async def last_heard(self, krs: Sequence[str]) -> dict[str, datetime]:
        """When each of these key results was last updated or answered about (one query)."""
        if not krs:
            return {}
        async with self.scope.sessions() as session:
            org = await self.scope.org_id(session)
            query = (
                select(ProgressUpdateRow.kr, func.max(ProgressUpdateRow.at))
                .where(ProgressUpdateRow.org_id == org, ProgressUpdateRow.kr.in_(krs))
                .group_by(ProgressUpdateRow.kr)
            )
            return {kr: at for kr, at in (await session.execute(query)).all()}

    async def open_blockers(self) -> list[Blocker]:
        async with self.scope.sessions() as session:
            org = await self.scope.org_id(session)
            query = (
                select(BlockerRow)
                .where(BlockerRow.org_id == org, BlockerRow.resolved_at.is_(None))
                .order_by(BlockerRow.raised_at)
            )
            return [convert.blocker(r) for r in (await session.scalars(query)).all()]
