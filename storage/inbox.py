"""The inbox of inbound answers: one insert in the ack path, claimed by one worker at a time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.core.inbox import RECORDED
from bot.core.ports import Inbound
from bot.core.prompts import ActionId, Answer, Notice, Outcome
from storage.db import Scope, prune
from storage.models import InboxRow

SHOW_FOR = timedelta(minutes=30)  # Slack's response_url lives 30 minutes: no use showing later


class SqlInbox:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    async def put(self, item: Inbound) -> bool:
        async with self.scope.sessions() as session, session.begin():
            org = await self.scope.org_id(session)
            dialect = session.bind.dialect.name
            insert = pg_insert if dialect == "postgresql" else sqlite_insert
            statement = (
                insert(InboxRow)
                .values(
                    org_id=org,
                    key=item.key,
                    platform=item.platform,
                    body=_body(item),
                    received_at=item.received_at,
                )
                .on_conflict_do_nothing(index_elements=["org_id", "key"])
            )
            result = await session.execute(statement)
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def claim(self, limit: int, now: datetime, lease: timedelta) -> list[Inbound]:
        async with self.scope.sessions() as session, session.begin():
            org = await self.scope.org_id(session)
            free = (
                select(InboxRow.id)
                .where(
                    InboxRow.org_id == org,
                    InboxRow.shown_at.is_(None),
                    or_(InboxRow.claimed_until.is_(None), InboxRow.claimed_until < now),
                    or_(InboxRow.applied_at.is_(None), InboxRow.received_at > now - SHOW_FOR),
                )
                .order_by(InboxRow.id)
                .limit(limit)
                .with_for_update(skip_locked=True)  # PostgreSQL: each row to one instance
            )
            rows = await session.scalars(
                update(InboxRow)
                .where(InboxRow.id.in_(free.scalar_subquery()))
                .values(claimed_until=now + lease)
                .returning(InboxRow)
            )
            return sorted((_inbound(r) for r in rows.all()), key=lambda i: i.id or 0)

    async def settle(self, item_id: int, outcome: Outcome, at: datetime) -> None:
        async with self.scope.sessions() as session, session.begin():
            await session.execute(
                update(InboxRow)
                .where(InboxRow.id == item_id)
                .values(applied_at=func.coalesce(InboxRow.applied_at, at), outcome=_shown(outcome))
            )

    async def shown(self, item_ids: Sequence[int], at: datetime) -> None:
        if not item_ids:
            return
        async with self.scope.sessions() as session, session.begin():
            await session.execute(
                update(InboxRow)
                .where(InboxRow.id.in_(list(item_ids)))
                .values(shown_at=at, applied_at=func.coalesce(InboxRow.applied_at, at))
            )

    async def forget(self, before: datetime) -> int:
        """Rows shown (or too old to show) before `before`: their platform ids are in no retry."""
        return await prune(
            self.scope, InboxRow, InboxRow.applied_at.is_not(None), InboxRow.received_at < before
        )

    async def pending(self) -> int:
        async with self.scope.sessions() as session:
            org = await self.scope.org_id(session)
            query = select(func.count()).where(
                InboxRow.org_id == org, InboxRow.applied_at.is_(None)
            )
            return int((await session.scalar(query)) or 0)


def _shown(outcome: Outcome) -> dict[str, Any]:
    """What is shown of an outcome (its pending write-back runs in the process that applied it)."""
    return {
        "ok": outcome.ok,
        "text": outcome.text,
        "errors": outcome.errors,
        "notices": [asdict(n) for n in outcome.notices],
        "duplicate": outcome.duplicate,
    }


def _body(item: Inbound) -> dict[str, Any]:
    return {"user": item.user, "reply_to": item.reply_to, "answer": asdict(item.answer)}


def _inbound(row: InboxRow) -> Inbound:
    body = row.body
    fields = dict(body["answer"])
    fields["action"] = ActionId(fields["action"])
    outcome = None
    if row.outcome is not None:
        stored = dict(row.outcome)
        stored["notices"] = tuple(Notice(**n) for n in stored.get("notices", ()))
        outcome = Outcome(**stored)
    elif row.applied_at is not None:
        outcome = RECORDED
    return Inbound(
        key=row.key,
        platform=row.platform,
        user=str(body["user"]),
        answer=Answer(**fields),
        received_at=row.received_at,
        reply_to=body.get("reply_to"),
        id=row.id,
        outcome=outcome,
    )
