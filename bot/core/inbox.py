"""The inbox: an answer is recorded before it is acked, then applied once and shown by a worker."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from bot.core.answers import answer
from bot.core.deps import Deps
from bot.core.model import Person
from bot.core.prompts import Answer, Outcome

log = logging.getLogger("goalnudge.inbox")
LEASE = timedelta(seconds=60)  # a claimed row whose worker died is claimed again after this
BATCH = 100
SHOWS_AT_ONCE = 16  # outcome messages in flight together (network, not the database)
RECORDED = Outcome(True, "✅ Recorded.")  # a row applied before a crash, its outcome unsaved
UNKNOWN = Outcome(False, "I don't know you yet: ask your admin to add you to the org file.")


@dataclass(frozen=True)
class Inbound:
    """One delivery from a platform, parsed at the edge; `key` is the platform's own id for it."""

    key: str
    platform: str
    user: str  # the sender's id on that platform; the edge resolves it to a person
    answer: Answer  # its `actor` is filled in when the sender is resolved
    received_at: datetime
    reply_to: str | None = None  # where the edge shows the outcome; opaque to the core
    id: int | None = None
    outcome: Outcome | None = None  # set once applied, until shown


class Inbox(Protocol):
    """Durable inbound answers, unique per organisation and key."""

    async def put(self, item: Inbound) -> bool:
        """Record it; False when the same key was recorded before (a retry, a double click)."""
        ...

    async def claim(self, limit: int, now: datetime, lease: timedelta) -> list[Inbound]:
        """Rows to apply or show, each claimed by one worker (of any process) until `lease`."""
        ...

    async def settle(self, item_id: int, outcome: Outcome, at: datetime) -> None:
        """Applied: remember what to show (the change itself marked the row in its own
        transaction; this also marks rows whose answer changed nothing)."""
        ...

    async def shown(self, item_ids: Sequence[int], at: datetime) -> None: ...

    async def pending(self) -> int: ...


class Edge(Protocol):
    """What the worker needs from the platform a row came from."""

    async def who(self, item: Inbound) -> Person | None: ...

    async def show(self, item: Inbound, person: Person | None, outcome: Outcome) -> None:
        """Replace the prompt with the outcome, or tell the person; and send what it queued."""
        ...


async def drain(
    deps: Deps, inbox: Inbox, edges: Mapping[str, Edge], *, limit: int | None = None
) -> int:
    """Apply and show claimed rows until none is left (or `limit` were handled); how many."""
    handled = 0
    while limit is None or handled < limit:
        rows = await inbox.claim(BATCH, deps.clock.now(), LEASE)
        if not rows:
            break
        shows: list[tuple[Inbound, Person | None, Outcome]] = []
        for row in rows:
            edge = edges.get(row.platform)
            if edge is None or row.id is None:
                log.warning("inbox row %s: no %s edge to apply it", row.id, row.platform)
                continue
            person = await edge.who(row)
            outcome = row.outcome or await apply(deps, inbox, row, person)
            shows.append((row, person, outcome))
        await _show_all(deps, inbox, edges, shows)
        handled += len(rows)
    return handled


async def apply(deps: Deps, inbox: Inbox, row: Inbound, person: Person | None) -> Outcome:
    """Apply one row; the change and the row's 'applied' mark commit together."""
    assert row.id is not None
    if person is None:
        outcome = UNKNOWN
    else:
        outcome = await answer(deps, replace(row.answer, actor=person.email), inbox_id=row.id)
    await inbox.settle(row.id, outcome, deps.clock.now())
    return outcome


async def _show_all(
    deps: Deps,
    inbox: Inbox,
    edges: Mapping[str, Edge],
    shows: list[tuple[Inbound, Person | None, Outcome]],
) -> None:
    slots = asyncio.Semaphore(SHOWS_AT_ONCE)
    done: list[int] = []

    async def one(row: Inbound, person: Person | None, outcome: Outcome) -> None:
        async with slots:
            try:
                await edges[row.platform].show(row, person, outcome)
            except Exception:  # applied already: shown again after the lease, not applied again
                log.warning("inbox row %s applied, but its outcome was not shown yet", row.id)
                return
        if row.id is not None:
            done.append(row.id)

    await asyncio.gather(*(one(*s) for s in shows))
    await inbox.shown(done, deps.clock.now())
