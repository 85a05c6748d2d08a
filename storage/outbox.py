"""The outbox of check-ins and notices: unique per person, slot and period; claimed to send."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, bindparam, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from bot.core.model import CheckIn, CheckInKind, CheckInState
from storage import convert
from storage.db import Scope, dialect
from storage.facts import to_json
from storage.models import CheckInRow

OPEN_STATES = [s.value for s in CheckInState if s.is_open]
# Claimed rows not yet settled: in flight, or maybe delivered (waiting for a lookup).
CLAIMED = [CheckInState.SENDING.value, CheckInState.UNCONFIRMED.value]
STAMP = {
    CheckInState.SENT: CheckInRow.sent_at,
    CheckInState.REMINDED: CheckInRow.reminded_at,
    CheckInState.ANSWERED: CheckInRow.closed_at,
    CheckInState.EXPIRED: CheckInRow.closed_at,
    CheckInState.PLANNED: CheckInRow.created_at,
    CheckInState.SENDING: CheckInRow.sent_at,  # when it was claimed
    CheckInState.UNCONFIRMED: CheckInRow.sent_at,  # still when it was claimed
    CheckInState.SKIPPED: CheckInRow.created_at,
    CheckInState.FAILED: CheckInRow.closed_at,
}


def slot(checkin: CheckIn) -> str:
    """Every prompt kind shares one slot, so a person gets one prompt per period at most."""
    return "prompt" if checkin.kind.is_prompt else checkin.kind.value


class SqlOutbox:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    async def add(self, checkin: CheckIn) -> CheckIn | None:
        try:
            async with self.scope.sessions() as session, session.begin():
                row = CheckInRow(
                    org_id=await self.scope.org_id(session),
                    person=checkin.person,
                    kind=checkin.kind.value,
                    slot=slot(checkin),
                    period=checkin.period,
                    state=checkin.state.value,
                    payload=to_json(checkin.body),
                    created_at=checkin.created_at,
                    skip_reason=checkin.skip_reason,
                )
                session.add(row)
                await session.flush()
                return convert.checkin(row)
        except IntegrityError:
            return None

    async def get(self, checkin_id: int) -> CheckIn | None:
        async with self.scope.sessions() as session:
            org = await self.scope.org_id(session)
            row = await session.get(CheckInRow, checkin_id)
            return convert.checkin(row) if row is not None and row.org_id == org else None

    async def get_many(self, checkin_ids: Sequence[int]) -> dict[int, CheckIn]:
        found = await self._select(CheckInRow.id.in_(list(set(checkin_ids))))
        return {c.id: c for c in found if c.id is not None}

    async def _select(
        self, *where: ColumnElement[bool], newest_first: bool = False
    ) -> list[CheckIn]:
        async with self.scope.sessions() as session:
            org = await self.scope.org_id(session)
            order = CheckInRow.id.desc() if newest_first else CheckInRow.id
            query = select(CheckInRow).where(CheckInRow.org_id == org, *where).order_by(order)
            return [convert.checkin(r) for r in (await session.scalars(query)).all()]

    async def open_prompt(self, person: str) -> CheckIn | None:
        rows = await self._select(
            CheckInRow.person == person,
            CheckInRow.slot == "prompt",
            CheckInRow.state.in_(OPEN_STATES),
            newest_first=True,
        )
        return rows[0] if rows else None

    async def latest(self, person: str, kind: CheckInKind, state: CheckInState) -> CheckIn | None:
        rows = await self._select(
            CheckInRow.person == person,
            CheckInRow.kind == kind.value,
            CheckInRow.state == state.value,
            newest_first=True,
        )
        return rows[0] if rows else None

    async def claim(self, limit: int, now: datetime) -> list[CheckIn]:
        """Move up to `limit` planned rows to `sending` and return them: each row is claimed
        by exactly one caller, however many senders run at once."""
        async with self.scope.sessions() as session, session.begin():
            org = await self.scope.org_id(session)
            query = (
                select(CheckInRow.id)
                .where(CheckInRow.org_id == org, CheckInRow.state == CheckInState.PLANNED.value)
                .order_by(CheckInRow.id)
                .limit(limit)
            )
            if dialect(session) == "postgresql":
                query = query.with_for_update(skip_locked=True)
            ids = list((await session.scalars(query)).all())
            if not ids:
                return []
            await session.execute(
                update(CheckInRow)
                .where(CheckInRow.id.in_(ids), CheckInRow.state == CheckInState.PLANNED.value)
                .values(state=CheckInState.SENDING.value, sent_at=now)
            )
            rows = await session.scalars(select(CheckInRow).where(CheckInRow.id.in_(ids)))
            return [convert.checkin(r) for r in rows if r.state == CheckInState.SENDING.value]

    async def mark_sent(self, checkin_id: int, message_ref: str | None, at: datetime) -> None:
        await self.mark_sent_many([(checkin_id, message_ref)], at)

    async def mark_sent_many(self, sent: Sequence[tuple[int, str | None]], at: datetime) -> None:
        if not sent:
            return
        table = CheckInRow.__table__
        # Core executemany: one statement, one transaction for the whole batch.
        statement = (
            update(table)
            .where(  # no IN here: executemany cannot expand it
                table.c.id == bindparam("row_id"),
                or_(*(table.c.state == state for state in CLAIMED)),
            )
            .values(state=CheckInState.SENT.value, message_ref=bindparam("ref"), sent_at=at)
        )
        async with self.scope.sessions() as session, session.begin():
            await session.execute(statement, [{"row_id": i, "ref": ref} for i, ref in sent])

    async def release(self, checkin_ids: Sequence[int], at: datetime) -> None:
        if not checkin_ids:
            return
        async with self.scope.sessions() as session, session.begin():
            await session.execute(
                update(CheckInRow)
                .where(CheckInRow.id.in_(list(checkin_ids)), CheckInRow.state.in_(CLAIMED))
                .values(state=CheckInState.PLANNED.value)
            )

    async def unconfirm(self, checkin_ids: Sequence[int]) -> None:
        if not checkin_ids:
            return
        async with self.scope.sessions() as session, session.begin():
            await session.execute(  # sent_at stays the claim time: lookups start from it
                update(CheckInRow)
                .where(
                    CheckInRow.id.in_(list(checkin_ids)),
                    CheckInRow.state == CheckInState.SENDING.value,
                )
                .values(state=CheckInState.UNCONFIRMED.value)
            )

    async def fail(self, checkin_id: int, reason: str, at: datetime) -> None:
        async with self.scope.sessions() as session, session.begin():
            await session.execute(
                update(CheckInRow)
                .where(CheckInRow.id == checkin_id, CheckInRow.state == CheckInState.SENDING.value)
                .values(state=CheckInState.FAILED.value, skip_reason=reason[:200], closed_at=at)
            )

    async def depth(self) -> int:
        """Rows waiting to be sent: planned, or claimed and not yet recorded sent."""
        waiting = [CheckInState.PLANNED.value, *CLAIMED]
        async with self.scope.sessions() as session:
            org = await self.scope.org_id(session)
            query = select(func.count()).where(
                CheckInRow.org_id == org, CheckInRow.state.in_(waiting)
            )
            return int(await session.scalar(query) or 0)

    async def prompted(self, periods: Sequence[str]) -> set[tuple[str, str]]:
        async with self.scope.sessions() as session:
            org = await self.scope.org_id(session)
            query = select(CheckInRow.person, CheckInRow.period).where(
                CheckInRow.org_id == org,
                CheckInRow.slot == "prompt",
                CheckInRow.period.in_(list(periods)),
            )
            return {(person, period) for person, period in await session.execute(query)}

    async def in_state(self, state: CheckInState, before: datetime | None = None) -> list[CheckIn]:
        where = [CheckInRow.state == state.value]
        if before is not None:
            where.append(STAMP[state] <= before)
        return await self._select(*where)

    async def transition(
        self, checkin_id: int, old: CheckInState, new: CheckInState, at: datetime
    ) -> bool:
        """Move one row from `old` to `new`; False when another actor moved it first."""
        async with self.scope.sessions() as session, session.begin():
            result = await session.execute(
                update(CheckInRow)
                .where(CheckInRow.id == checkin_id, CheckInRow.state == old.value)
                .values({"state": new.value, STAMP[new].key: at})
            )
            return result.rowcount == 1  # type: ignore[attr-defined]  # a DELETE/UPDATE gives a CursorResult

    async def between(self, start: datetime, end: datetime) -> list[CheckIn]:
        return await self._select(CheckInRow.created_at >= start, CheckInRow.created_at <= end)
