"""The inbox: an answer is recorded before it is acked, then applied once and shown by a worker."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Protocol

from bot.core import commands
from bot.core.answers import ALREADY_RECORDED, Planned, Seen, plan, settle
from bot.core.deps import Deps
from bot.core.errors import GoalnudgeError
from bot.core.model import Person
from bot.core.planned import items_of
from bot.core.ports import Inbound, Inbox
from bot.core.prompts import Answer, Outcome, Said
from bot.core.rich import rich

log = logging.getLogger("goalnudge.inbox")
LEASE = timedelta(seconds=15)  # a claimed row whose worker died is claimed again after this
BATCH = 100
QUIET = 0.05  # seconds without a new answer before the worker takes the next batch
PATIENCE = 1.0  # seconds a batch waits at most for that lull
SHOWS_AT_ONCE = 16  # outcome messages in flight together (network, not the database)
RECORDED = Outcome(True, rich("✅ Recorded."))  # a row applied before a crash, its outcome unsaved
UNKNOWN = Outcome(False, rich("I don't know you yet: ask your admin to add you to the org file."))


class Edge(Protocol):
    """What the worker needs from the platform a row came from."""

    async def who(self, users: Sequence[str]) -> Mapping[str, Person]:
        """The people these platform user ids are (one lookup for a batch; unknown ids left
        out)."""
        ...

    async def show(self, item: Inbound, person: Person | None, outcome: Outcome) -> None:
        """Replace the prompt with the outcome, or tell the person; and send what it queued."""
        ...

    async def close(self) -> None:
        """Let go of connections kept for `show`."""
        ...


Shown = tuple[Inbound, Person | None, Outcome]


async def drain(
    deps: Deps, inbox: Inbox, edges: Mapping[str, Edge], *, limit: int | None = None
) -> int:
    """Apply and show claimed rows until none is left (or `limit` were handled); how many."""
    handled = 0
    while limit is None or handled < limit:
        # Only the rows of this lane's platforms: another lane (another platform of the same
        # organisation) drains the same inbox.
        rows = await inbox.claim(BATCH, deps.clock.now(), LEASE, platforms=list(edges))
        if not rows:
            break
        ours = [r for r in rows if r.id is not None]
        await _show_all(deps, inbox, edges, await apply(deps, edges, ours))
        handled += len(rows)
    return handled


async def apply_now(
    deps: Deps, inbox: Inbox | None, edges: Mapping[str, Edge], item: Inbound
) -> Outcome:
    """Record `item` and apply it at once, for a platform that waits for the outcome in its
    reply (a Teams card, a form's errors): should this process die first, the worker applies
    the recorded row later. A retried delivery changes nothing. With no inbox (a command-line
    run) it is applied directly."""
    if inbox is None:
        [(_, _, outcome)] = await apply(deps, edges, [item])
        return outcome
    # Held from its insert: a worker draining this moment must not take it from under us (the
    # person would hear "already recorded" for their first answer).
    row_id = await inbox.put(item, hold=LEASE)
    if row_id is not None:
        rows = [replace(item, id=row_id)]
    else:  # a repeat: applied and shown already, or in another's hands this moment
        rows = await inbox.claim(1, deps.clock.now(), LEASE, key=item.key)
    if not rows:
        return ALREADY_RECORDED
    [(row, _, outcome)] = await apply(deps, edges, rows)
    if row.id is not None:
        await inbox.settle([(row.id, outcome)], deps.clock.now())
        await inbox.shown([row.id], deps.clock.now())
    return outcome


async def apply(deps: Deps, edges: Mapping[str, Edge], rows: Sequence[Inbound]) -> list[Shown]:
    """Apply a batch of rows: their reads made together, their changes committed together (a
    row touching what an earlier row of the batch touched waits for the next wave); each
    change marks its row applied in the same transaction."""
    people: dict[tuple[str, str], Person] = {}
    for platform in {r.platform for r in rows}:
        found = await edges[platform].who([r.user for r in rows if r.platform == platform])
        people |= {(platform, user): person for user, person in found.items()}
    shows: list[Shown] = []
    todo: list[tuple[Inbound, Answer]] = []
    for row in rows:
        person = people.get((row.platform, row.user))
        if row.outcome is not None or person is None:
            shows.append((row, person, row.outcome or UNKNOWN))
        elif isinstance(row.answer, Said):  # a typed command: rare, one at a time
            told = await commands.run(deps, person, row.answer.text, row.answer.answer_id)
            shows.append((row, person, Outcome(True, told.text, notices=told.notices)))
        else:
            todo.append((row, replace(row.answer, actor=person.email)))
    while todo:
        seen = await _read(deps, [reply for _, reply in todo])
        wave: list[tuple[Inbound, Person, Planned]] = []
        later: list[tuple[Inbound, Answer]] = []
        touched: set[str] = set()
        for row, reply in todo:
            person = people[(row.platform, row.user)]
            planned = await plan(deps, reply, inbox_id=row.id, by=person, seen=seen)
            if isinstance(planned, Outcome):
                shows.append((row, person, planned))
            elif _touches(planned) & touched:
                later.append((row, reply))
            else:
                touched |= _touches(planned)
                wave.append((row, person, planned))
        results = await deps.ledger.apply_all([planned.change for _, _, planned in wave])
        for (row, person, planned), result in zip(wave, results, strict=True):
            shows.append((row, person, await settle(deps, planned, result)))
        todo = later
    return shows


async def _read(deps: Deps, replies: Sequence[Answer]) -> Seen:
    """The check-ins and key results these answers are about, read at once."""
    checkins = await deps.outbox.get_many([r.checkin_id for r in replies if r.checkin_id])
    keys = {r.kr for r in replies if r.kr} | {
        item.kr for c in checkins.values() for item in items_of(c.body)
    }
    krs = await deps.directory.key_results(keys=sorted(keys)) if keys else []
    return Seen(checkins, {kr.key: kr for kr in krs})


def _touches(planned: Planned) -> set[str]:
    """What a planned change reads and writes: two in one wave must not share any of it."""
    checkin = planned.change.checkin_id
    return (
        {f"kr:{kr.key}" for kr in planned.krs}
        | {f"person:{planned.actor.email}"}
        | ({f"checkin:{checkin}"} if checkin is not None else set())
    )


async def _show_all(
    deps: Deps,
    inbox: Inbox,
    edges: Mapping[str, Edge],
    shows: list[Shown],
) -> None:
    fresh = [(row.id, outcome) for row, _, outcome in shows if row.outcome is None and row.id]
    await inbox.settle(fresh, deps.clock.now())
    slots = asyncio.Semaphore(SHOWS_AT_ONCE)
    done: list[int] = []

    async def one(row: Inbound, person: Person | None, outcome: Outcome) -> None:
        async with slots:
            try:
                await edges[row.platform].show(row, person, outcome)
            except Exception:  # settled: shown again after the lease, never applied again
                log.warning("inbox row %s applied, but its outcome was not shown yet", row.id)
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
        self.acked_at = 0.0

    def add(self, lane: str, deps: Deps, edges: Mapping[str, Edge]) -> None:
        """The inbox of `deps`' organisation, applied through `edges` (a lane added again is
        replaced: a workspace installed again)."""
        self.lanes[lane] = (deps, edges)

    def wake(self) -> None:
        """An answer was recorded and acked."""
        self.acked_at = time.monotonic()
        self.woken.set()

    async def room(self) -> None:
        """Acks first: while answers keep arriving, the next batch waits for a lull of QUIET
        seconds, PATIENCE at most (an ack has 3 s; the outcome it leads to can wait a moment)."""
        start = time.monotonic()
        while (
            not self.stopping
            and time.monotonic() - self.acked_at < QUIET
            and time.monotonic() - start < PATIENCE
        ):
            await asyncio.sleep(QUIET)

    async def ready(self) -> None:
        """Before the first request: each inbox ready for its first insert."""
        for deps, _ in list(self.lanes.values()):
            if deps.inbox is not None:
                with contextlib.suppress(GoalnudgeError):  # no org yet, say: nothing to warm
                    await deps.inbox.ready()

    async def once(self) -> int:
        handled = 0
        for deps, edges in list(self.lanes.values()):
            if deps.inbox is None:
                continue
            try:
                await self.room()  # the first batch of a burst too: its acks come first
                while done := await drain(deps, deps.inbox, edges, limit=1):  # a batch
                    handled += done
                    await self.room()
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
        for _, edges in self.lanes.values():
            for edge in edges.values():
                await edge.close()
