"""The inbox of inbound answers: one insert in the ack path, claimed by one worker at a time."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.engine import Connection

from bot.core.inbox import RECORDED
from bot.core.ports import Inbound
from bot.core.prompts import ActionId, Answer, Notice, Outcome, Said
from bot.core.rich import Rich
from storage.db import Scope, insert_new, prune
from storage.models import InboxRow

PUT_BATCH = 500  # rows per insert statement
SHOW_FOR = timedelta(minutes=30)  # Slack's response_url lives 30 minutes: no use showing later


class SqlInbox:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self._waiting: list[tuple[Inbound, timedelta | None, asyncio.Future[int | None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def put(self, item: Inbound, hold: timedelta | None = None) -> int | None:
        """Committed when this returns. Puts that arrive while a write is under way share the
        next one (group commit): a transaction per burst, not per click."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[int | None] = loop.create_future()
        self._waiting.append((item, hold, done))
        if self._writer is None or self._writer.done() or self._writer.get_loop() is not loop:
            self._writer = loop.create_task(self._write())
        return await asyncio.shield(done)  # a caller that gives up does not undo the write

    async def ready(self) -> None:
        """What the first insert needs, done before the first request: the organisation's id
        and, on SQLite, the writer thread's connection."""
        await self.scope.org()
        first = select(InboxRow.id).limit(1)
        await self.scope.at_once(lambda connection: connection.execute(first))

    async def _write(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[:PUT_BATCH], self._waiting[PUT_BATCH:]
            try:
                new = await self._insert([(item, hold) for item, hold, _ in batch])
            except BaseException as exc:  # each waiter hears it; no ack is sent for them
                for _, _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise
                continue
            for item, _, done in batch:
                if not done.done():
                    # the same key twice in a burst: the second is a repeat
                    done.set_result(new.pop(item.key, None))

    async def _insert(self, items: Sequence[tuple[Inbound, timedelta | None]]) -> dict[str, int]:
        """Insert the rows whose key is new; their ids by key."""
        org = await self.scope.org()
        params = [
            {"org_id": org, "key": i.key, "platform": i.platform, "body": _body(i),
             "received_at": i.received_at,
             "claimed_until": i.received_at + hold if hold else None}
            for i, hold in items
        ]  # fmt: skip

        def insert(connection: Connection) -> dict[str, int]:
            table = InboxRow.__table__
            statement = insert_new(connection.dialect.name, InboxRow, "org_id", "key")
            found = connection.execute(statement.returning(table.c.key, table.c.id), params)
            return {key: row_id for key, row_id in found.all()}

        return await self.scope.at_once(insert, first=True)

    async def claim(
        self,
        limit: int,
        now: datetime,
        lease: timedelta,
        key: str | None = None,
        platforms: Collection[str] | None = None,
    ) -> list[Inbound]:
        async with self.scope.writing() as session:
            org = await self.scope.org_id(session)
            free = (
                select(InboxRow.id)
                .where(
                    InboxRow.org_id == org,
                    *([InboxRow.key == key] if key is not None else []),
                    *([InboxRow.platform.in_(list(platforms))] if platforms is not None else []),
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

    async def settle(self, outcomes: Sequence[tuple[int, Outcome]], at: datetime) -> None:
        if not outcomes:
            return
        rows = InboxRow.__table__
        async with self.scope.writing() as session:
            await session.execute(
                update(rows)
                .where(rows.c.id == bindparam("b_id"))
                .values(
                    applied_at=func.coalesce(rows.c.applied_at, at), outcome=bindparam("b_outcome")
                ),
                [{"b_id": i, "b_outcome": _shown(o)} for i, o in outcomes],
            )

    async def shown(self, item_ids: Sequence[int], at: datetime) -> None:
        if not item_ids:
            return
        async with self.scope.writing() as session:
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
        "text": outcome.text.dump(),
        "errors": outcome.errors,
        "notices": [{"to": n.to, "text": n.text.dump()} for n in outcome.notices],
        "duplicate": outcome.duplicate,
    }


def _body(item: Inbound) -> dict[str, Any]:
    what = "said" if isinstance(item.answer, Said) else "answer"
    return {"user": item.user, "reply_to": item.reply_to, what: asdict(item.answer)}


def _inbound(row: InboxRow) -> Inbound:
    body = row.body
    answer: Answer | Said
    if "said" in body:
        answer = Said(**body["said"])
    else:
        fields = dict(body["answer"])
        fields["action"] = ActionId(fields["action"])
        answer = Answer(**fields)
    outcome = None
    if row.outcome is not None:
        stored = dict(row.outcome)
        stored["notices"] = tuple(
            Notice(n["to"], Rich.load(n["text"])) for n in stored.get("notices", ())
        )
        outcome = Outcome(**{**stored, "text": Rich.load(stored.get("text"))})
    elif row.applied_at is not None:
        outcome = RECORDED
    return Inbound(
        key=row.key,
        platform=row.platform,
        user=str(body["user"]),
        answer=answer,
        received_at=row.received_at,
        reply_to=body.get("reply_to"),
        id=row.id,
        outcome=outcome,
    )
