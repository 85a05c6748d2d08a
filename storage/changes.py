"""A batch of answers' changes written in a handful of set-based statements, each whole or not."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.model import CheckInState
from bot.core.ports import Applied, Change
from storage.db import dialect, insert_new
from storage.facts import to_json
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


def table(model: Any) -> Table:
    return model.__table__


def apart(changes: Sequence[Change]) -> list[list[Change]]:
    """`changes` in order, cut where one touches what an earlier one of its group touches: each
    group is written in one go, so two of a group must not depend on each other."""
    groups: list[list[Change]] = []
    touched: set[str] = set()
    for change in changes:
        touches = _touches(change)
        if not groups or touches & touched:
            groups.append([])
            touched = set()
        groups[-1].append(change)
        touched |= touches
    return groups


def _touches(change: Change) -> set[str]:
    people = {n.person for n in change.notices} | {
        p[0] for p in (change.snooze, change.checkin) if p is not None
    }
    krs = {u.kr for u in change.updates} | set(change.resolve_blockers)
    krs |= {change.blocker.kr} if change.blocker else set()
    return (
        {f"kr:{k}" for k in krs}
        | {f"person:{p}" for p in people}
        | {f"checkin:{change.checkin_id}", f"event:{change.event_id}"}
    )


async def write(session: AsyncSession, org: int, changes: Sequence[Change]) -> list[Applied]:
    """Write `changes` in the session's transaction: one already applied (its event id seen)
    is a duplicate, one whose check-in another answer closed is 'closed'; neither writes
    anything. The rest are applied, in order."""
    fresh = await _first_seen(session, org, changes)
    closed = await _close(session, org, [c for c in changes if c.event_id in fresh])
    if closed:  # they changed nothing: a retry of theirs must find the same
        events = table(ProcessedEventRow)
        await session.execute(
            delete(events).where(events.c.org_id == org, events.c.event_id.in_(closed))
        )
    results = [
        Applied.DUPLICATE
        if c.event_id not in fresh
        else Applied.CLOSED
        if c.event_id in closed
        else Applied.APPLIED
        for c in changes
    ]
    applied = zip(changes, results, strict=True)
    await _apply(session, org, [c for c, r in applied if r is Applied.APPLIED])
    return results


async def _first_seen(session: AsyncSession, org: int, changes: Sequence[Change]) -> set[str]:
    """Record each change's event id; those recorded now (not by an earlier delivery)."""
    rows = [{"org_id": org, "event_id": c.event_id, "at": c.at} for c in changes]
    found = await session.execute(
        insert_new(dialect(session), ProcessedEventRow, "org_id", "event_id")
        .values(rows)
        .returning(table(ProcessedEventRow).c.event_id)
    )
    return set(found.scalars().all())


async def _close(session: AsyncSession, org: int, changes: Sequence[Change]) -> set[str]:
    """Mark each change's check-in answered; the event ids of those found closed already."""
    wanted = [c for c in changes if c.checkin_id is not None]
    if not wanted:
        return set()
    checkins = table(CheckInRow)
    query = select(checkins.c.id).where(
        checkins.c.org_id == org,
        checkins.c.id.in_([c.checkin_id for c in wanted]),
        checkins.c.state.in_(OPEN_STATES),
    )
    if dialect(session) == "postgresql":
        query = query.with_for_update()  # another instance's answer waits, then finds it closed
    found = set((await session.execute(query)).scalars())
    closing, closed = [], set()
    for change in wanted:
        if change.checkin_id in found:
            found.discard(change.checkin_id)
            closing.append({"b_id": change.checkin_id, "b_at": change.at, "b_with": change.action})
        else:
            closed.add(change.event_id)
    if closing:
        await session.execute(
            update(checkins)
            .where(checkins.c.id == bindparam("b_id"))
            .values(
                state=CheckInState.ANSWERED.value,
                closed_at=bindparam("b_at"),
                answered_with=bindparam("b_with"),
            ),
            closing,
        )
    return closed


async def _apply(session: AsyncSession, org: int, changes: Sequence[Change]) -> None:
    if not changes:
        return
    inbox = [(c.inbox_id, c.at) for c in changes if c.inbox_id is not None]
    if inbox:
        rows = table(InboxRow)
        await session.execute(
            update(rows).where(rows.c.id == bindparam("b_id")).values(applied_at=bindparam("b_at")),
            [{"b_id": i, "b_at": at} for i, at in inbox],
        )
    updates = [u for c in changes for u in c.updates]
    if updates:
        await session.execute(
            insert(table(ProgressUpdateRow)),
            [
                {
                    "org_id": org, "kr": u.kr, "actor": u.actor, "source": u.source.value,
                    "at": u.at, "value": u.value, "previous": u.previous,
                    "status": u.status.value if u.status else None,
                    "confidence": u.confidence, "note": u.note,
                }
                for u in updates
            ],
        )  # fmt: skip
        await _key_results(session, org, updates)
    blockers = [c.blocker for c in changes if c.blocker is not None]
    if blockers:
        await session.execute(
            insert(table(BlockerRow)),
            [
                {"org_id": org, "kr": b.kr, "person": b.person, "note": b.note, "link": b.link,
                 "raised_at": b.raised_at}
                for b in blockers
            ],
        )  # fmt: skip
    notices = [n for c in changes for n in c.notices]
    if notices:
        await session.execute(
            insert(table(CheckInRow)),
            [
                {"org_id": org, "person": n.person, "kind": n.kind.value, "slot": slot(n),
                 "period": n.period, "state": n.state.value, "payload": to_json(n.body),
                 "created_at": n.created_at}
                for n in notices
            ],
        )  # fmt: skip
    for change in changes:  # rare (a flag cleared, a snooze, a schedule): one at a time
        await _person_and_blockers(session, org, change)


async def _key_results(session: AsyncSession, org: int, updates: Sequence[Any]) -> None:
    """Each update's value, status and confidence onto its key result (in order: the last
    update of a key result wins)."""
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for u in updates:
        values = {
            name: value
            for name, value in (
                ("current", u.value),
                ("status", u.status.value if u.status else None),
                ("confidence", u.confidence),
            )
            if value is not None
        }
        if values:
            by_columns[tuple(values)].append(
                {"b_kr": u.kr} | {f"b_{k}": v for k, v in values.items()}
            )
    krs = table(KeyResultRow)
    for columns, params in by_columns.items():
        await session.execute(
            update(krs)
            .where(krs.c.org_id == org, krs.c.key == bindparam("b_kr"))
            .values({name: bindparam(f"b_{name}") for name in columns}),
            params,
        )


async def _person_and_blockers(session: AsyncSession, org: int, change: Change) -> None:
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
