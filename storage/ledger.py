"""Progress history and blockers; an answer is written whole or not at all."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.model import Blocker, CheckInState, ProgressUpdate
from bot.core.ports import Applied, Change
from storage import convert
from storage.db import Scope, prune
from storage.models import (
    BlockerRow,
    CheckInRow,
    InboxRow,
    KeyResultRow,
    PersonRow,
    ProcessedEventRow,
    ProgressUpdateRow,
)
from storage.outbox import OPEN_STATES, slot


class Duplicate(Exception):
    """Raised inside the transaction to roll it back when the answer was already applied."""

    def __init__(self, result: Applied) -> None:
        self.result = result


class SqlLedger:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    async def forget_processed(self, before: datetime) -> int:
        return await prune(self.scope, ProcessedEventRow, ProcessedEventRow.at < before)

    async def apply(self, change: Change) -> Applied:
        try:
            async with self.scope.sessions() as session, session.begin():
                org = await self.scope.org_id(session)
                session.add(ProcessedEventRow(org_id=org, event_id=change.event_id, at=change.at))
                try:
                    await session.flush()
                except IntegrityError:
                    raise Duplicate(Applied.DUPLICATE) from None
                if change.inbox_id is not None:
                    await session.execute(
                        update(InboxRow)
                        .where(InboxRow.id == change.inbox_id)
                        .values(applied_at=change.at)
                    )
                if change.checkin_id is not None:
                    await self._close(session, change)
                for u in change.updates:
                    await self._write_update(session, org, u)
                if change.blocker is not None:
                    b = change.blocker
                    session.add(
                        BlockerRow(
                            org_id=org,
                            kr=b.kr,
                            person=b.person,
                            note=b.note,
                            link=b.link,
                            raised_at=b.raised_at,
                        )
                    )
                if change.resolve_blockers:
                    await session.execute(
                        update(BlockerRow)
                        .where(
                            BlockerRow.org_id == org,
                            BlockerRow.kr.in_(change.resolve_blockers),
                            BlockerRow.resolved_at.is_(None),
                        )
                        .values(resolved_at=change.at)
                    )
                if change.snooze is not None:
                    email, until = change.snooze
                    await session.execute(
                        update(PersonRow)
                        .where(PersonRow.org_id == org, PersonRow.email == email)
                        .values(snoozed_until=until)
                    )
                if change.checkin is not None:
                    email, days, at = change.checkin
                    await session.execute(
                        update(PersonRow)
                        .where(PersonRow.org_id == org, PersonRow.email == email)
                        .values(
                            checkin_days=",".join(map(str, days)) if days else None,
                            checkin_at=at.strftime("%H:%M") if at else None,
                        )
                    )
                for n in change.notices:
                    session.add(
                        CheckInRow(
                            org_id=org,
                            person=n.person,
                            kind=n.kind.value,
                            slot=slot(n),
                            period=n.period,
                            state=n.state.value,
                            payload=n.payload,
                            created_at=n.created_at,
                        )
                    )
        except Duplicate as dup:
            return dup.result
        except IntegrityError:
            return Applied.DUPLICATE
        return Applied.APPLIED

    @staticmethod
    async def _close(session: AsyncSession, change: Change) -> None:
        row = await session.get(CheckInRow, change.checkin_id)
        payload = dict(row.payload or {}) if row else {}
        payload["answered_with"] = change.action
        moved = await session.execute(
            update(CheckInRow)
            .where(CheckInRow.id == change.checkin_id, CheckInRow.state.in_(OPEN_STATES))
            .values(state=CheckInState.ANSWERED.value, closed_at=change.at, payload=payload)
        )
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            raise Duplicate(Applied.CLOSED)

    @staticmethod
    async def _write_update(session: AsyncSession, org: int, u: ProgressUpdate) -> None:
        session.add(
            ProgressUpdateRow(
                org_id=org,
                kr=u.kr,
                actor=u.actor,
                source=u.source.value,
                at=u.at,
                value=u.value,
                previous=u.previous,
                status=u.status.value if u.status else None,
                confidence=u.confidence,
                note=u.note,
            )
        )
        values: dict[str, object] = {}
        if u.value is not None:
            values["current"] = u.value
        if u.status is not None:
            values["status"] = u.status.value
        if u.confidence is not None:
            values["confidence"] = u.confidence
        if values:
            await session.execute(
                update(KeyResultRow)
                .where(KeyResultRow.org_id == org, KeyResultRow.key == u.kr)
                .values(values)
            )

    async def _updates(self, *where: object) -> list[ProgressUpdate]:
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

    async def open_blockers(self) -> list[Blocker]:
        async with self.scope.sessions() as session:
            org = await self.scope.org_id(session)
            query = (
                select(BlockerRow)
                .where(BlockerRow.org_id == org, BlockerRow.resolved_at.is_(None))
                .order_by(BlockerRow.raised_at)
            )
            return [convert.blocker(r) for r in (await session.scalars(query)).all()]
