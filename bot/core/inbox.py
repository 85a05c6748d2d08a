"""The inbox: an answer is recorded before it is acked, then applied once and shown by a worker."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import timedelta
from typing import Protocol

from bot.core.answers import answer
from bot.core.deps import Deps
from bot.core.errors import GoalnudgeError
from bot.core.model import Person
from bot.core.ports import Inbound, Inbox
from bot.core.prompts import Outcome

log = logging.getLogger("goalnudge.inbox")
LEASE = timedelta(seconds=60)  # a claimed row whose worker died is claimed again after this
BATCH = 100
SHOWS_AT_ONCE = 16  # outcome messages in flight together (network, not the database)
RECORDED = Outcome(True, "✅ Recorded.")  # a row applied before a crash, its outcome unsaved
UNKNOWN = Outcome(False, "I don't know you yet: ask your admin to add you to the org file.")


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
    """Apply one row; a change and the row's 'applied' mark commit together (an answer that
    changes nothing is marked with its showing: after a crash it is simply answered again)."""
    if person is None:
        return UNKNOWN
    return await answer(deps, replace(row.answer, actor=person.email), inbox_id=row.id, by=person)


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
                if row.id is not None:
                    await inbox.settle(row.id, outcome, deps.clock.now())
                return
        if row.id is not None:
            done.append(row.id)

    await asyncio.gather(*(one(*s) for s in shows))
    await inbox.shown(done, deps.clock.now())


class Worker:
    """Drains every organisation's inbox in the background: woken by each ack, and every second
    for rows another instance or an earlier process left."""

    def __init__(self, every: float = 1.0) -> None:
        self.every = every
        self.lanes: dict[str, tuple[Deps, Mapping[str, Edge]]] = {}
        self.woken = asyncio.Event()
        self.stopping = False

    def add(self, lane: str, deps: Deps, edges: Mapping[str, Edge]) -> None:
        """The inbox of `deps`' organisation, applied through `edges` (a lane added again is
        replaced: a workspace installed again)."""
        self.lanes[lane] = (deps, edges)

    def wake(self) -> None:
        self.woken.set()

    async def once(self) -> int:
        handled = 0
        for deps, edges in list(self.lanes.values()):
            if deps.inbox is None:
                continue
            try:
                handled += await drain(deps, deps.inbox, edges)
            except GoalnudgeError as exc:  # the database away, say: the rows wait for next time
                log.warning("inbox not drained: %s", exc)
        return handled

    async def run(self) -> None:
        while not self.stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.woken.wait(), self.every)
            self.woken.clear()
            await self.once()
        await self.once()  # what was acked before the stop

    async def finish(self, task: asyncio.Task[None], grace: float) -> None:
        """Stop: what was acked is applied within `grace` seconds; whatever is left waits, durable,
        for the next process (its claims lapse after LEASE)."""
        self.stopping = True
        self.wake()
        try:
            await asyncio.wait_for(asyncio.shield(task), grace)
            jobs = {id(deps.jobs): deps.jobs for deps, _ in self.lanes.values()}
            await asyncio.wait_for(asyncio.gather(*(j.drain() for j in jobs.values())), grace)
        except TimeoutError:
            log.warning(
                "stopping with work left: inbox rows wait for the next start; a tracker "
                "write-back still running is dropped (its answer is stored)"
            )
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
