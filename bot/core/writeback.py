"""Tell the tracker what an answer did (a flag written back, or cleared), after the ack."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from bot.core.breaker import guarded
from bot.core.deps import Deps
from bot.core.errors import IntegrationError
from bot.core.model import KeyResult, Person
from bot.core.ports import TrackerSource
from bot.core.prompts import ActionId, Answer, Outcome

Show = Callable[[Outcome], Awaitable[Any]]


async def write_back(
    deps: Deps, reply: Answer, actor: Person, krs: list[KeyResult], outcome: Outcome
) -> Outcome:
    """`outcome` with the tracker write-back it asks for (when asked to, or when a flag is
    cleared) left pending: the edge runs it after the ack; a failure is reported and the answer
    itself stands."""
    flagging = reply.action is ActionId.FLAG_RISK and reply.write_back
    if not (flagging or reply.action is ActionId.ON_TRACK):
        return outcome
    bound = [kr for kr in krs if kr.source.epic and kr.source.kind in deps.sources.trackers]
    if not bound:
        return outcome
    kind = bound[0].source.kind  # an answer is about one key result: one tracker
    tracker: TrackerSource = deps.sources.trackers[kind]
    epics = [kr.source.epic for kr in bound if kr.source.kind == kind and kr.source.epic]
    if not flagging:  # clear only what the tracker last showed as flagged
        seen = await deps.snapshots.latest(kind, [kr.key for kr in bound])
        flagged = {str(s.details["key"]) for s in seen.values() if s.details.get("flagged")}
        epics = [epic for epic in epics if epic in flagged]
    if not epics:
        return outcome
    source = tracker

    async def tell() -> None:
        for epic in epics:
            if flagging:
                await source.flag(epic, reply.note or "", actor.name)
            else:
                await source.unflag(epic)

    async def run() -> Outcome:
        try:
            await guarded(deps, source.name, tell)
        except IntegrationError as exc:
            what = "flag" if flagging else "clear the flag on"
            return replace(
                outcome,
                text=outcome.text
                + f"\n⚠️ I couldn't {what} {epics[0]} in {tracker.name} just now ({exc}); "
                "everything else is saved.",
            )
        done = "flagged" if flagging else "cleared the flag on"
        return replace(
            outcome, text=outcome.text + f"\n🔗 Also {done} {epics[0]} in {tracker.name}."
        )

    doing = "flagging" if flagging else "clearing the flag on"
    return replace(
        outcome, text=outcome.text + f"\n⏳ Now {doing} {epics[0]} in {tracker.name}…", pending=run
    )


def follow_up(deps: Deps, outcome: Outcome, show: Show) -> asyncio.Task[Any] | None:
    """After the ack: run what the answer left pending in the background (`deps.jobs`), then
    `show` the outcome it gives in place of the first one."""
    pending = outcome.pending
    if pending is None:
        return None

    async def run() -> None:
        await show(await pending())

    return deps.jobs.spawn(run())


async def settled(outcome: Outcome) -> Outcome:
    """The outcome with its pending work done, for an edge with no ack to make (console)."""
    return await outcome.pending() if outcome.pending is not None else outcome
