"""Take back one's own last change within a day: a reverting entry, the ledger keeps both."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.core.answers import ALREADY_RECORDED, notices_of, tell_manager
from bot.core.deps import Deps
from bot.core.measure import value_text
from bot.core.model import (
    CheckIn,
    KeyResult,
    Person,
    ProgressUpdate,
    Status,
    UpdateSource,
)
from bot.core.ports import Applied, Change
from bot.core.prompts import Notice
from bot.core.rich import Rich, rich, strong

WINDOW = timedelta(hours=24)  # how long a change can be undone
SAME = timedelta(milliseconds=1)  # the entries of one change share their time
TOO_OLD = rich("⌛ That change is more than 24 hours old: it can no longer be undone.")
UNDONE_ALREADY = rich("↩ That change is undone already — nothing changed.")


@dataclass(frozen=True)
class Undone:
    text: Rich
    notices: tuple[Notice, ...] = ()


async def undo(deps: Deps, person: Person, ref: str, at: datetime | None = None) -> Undone:
    """Revert `person`'s own change made `at` (the last one when None), if within WINDOW and
    nobody changed those key results since; `ref` makes a repeated delivery apply once."""
    now = deps.clock.now()
    if at is not None and now - at > WINDOW:
        return Undone(TOO_OLD)
    mine = [u for u in await deps.ledger.updates_since(now - WINDOW) if u.actor == person.email]
    if at is None:
        if not mine:
            return Undone(rich("Nothing to undo: you made no change in the last 24 hours."))
        if mine[-1].source is UpdateSource.UNDO:
            return Undone(rich("↩ Your last change is undone already — nothing changed."))
        at = mine[-1].at
    change = [u for u in mine if abs(u.at - at) < SAME and u.source is not UpdateSource.UNDO]
    if not change:
        return Undone(TOO_OLD)
    krs = {kr.key: kr for kr in await deps.directory.key_results(keys=[u.kr for u in change])}
    reverts: list[ProgressUpdate] = []
    for update in change:
        kr = krs[update.kr]
        past = await deps.ledger.history(update.kr)
        later = [u for u in past if u.at - update.at >= SAME]
        if later and later[0].source is UpdateSource.UNDO and later[0].actor == person.email:
            return Undone(UNDONE_ALREADY)
        if later:
            return Undone(rich(strong(kr.title), " was updated since — nothing changed."))
        before = [u for u in past if update.at - u.at >= SAME]
        reverts.append(_revert(update, before, person, now))
    flags = [krs[u.kr] for u in change if u.source is UpdateSource.TRACKER_FLAG]
    notices = await _withdrawn(deps, person, flags, ref)
    result = await deps.ledger.apply(
        Change(
            ref,
            now,
            action="undo",
            updates=tuple(reverts),
            resolve_blockers=tuple(kr.key for kr in flags),
            notices=notices,
        )
    )
    if result is not Applied.APPLIED:
        return Undone(ALREADY_RECORDED.text)
    told = notices_of(notices)
    lines = [_said(krs[u.kr], u, bool(told)) for u in reverts]
    return Undone(rich("\n").join(lines), told)


def _revert(
    update: ProgressUpdate, before: list[ProgressUpdate], person: Person, now: datetime
) -> ProgressUpdate:
    """The entry that puts back what `update` changed, as the entries `before` it left it."""
    status = confidence = None
    if update.status is not None:
        status = next((u.status for u in reversed(before) if u.status), Status.ON_TRACK)
    if update.confidence is not None:
        known = [u.confidence for u in before if u.confidence is not None]
        confidence = known[-1] if known else None
    return ProgressUpdate(
        update.kr,
        person.email,
        UpdateSource.UNDO,
        now,
        value=update.previous if update.value is not None else None,
        status=status,
        confidence=confidence,
        previous=update.value,
    )


async def _withdrawn(
    deps: Deps, person: Person, flags: list[KeyResult], ref: str
) -> tuple[CheckIn, ...]:
    """The managers told that a flag was withdrawn (those a flag told, not the person)."""
    notices: tuple[CheckIn, ...] = ()
    for kr in flags:
        text = rich(f"↩ {person.name} withdrew the flag on ", strong(kr.title))
        text += ": the blocker is withdrawn and it is no longer at risk."
        notices += await tell_manager(deps, person, kr, f"withdrawn:{ref}:{kr.key}", text)
    return notices


def _said(kr: KeyResult, revert: ProgressUpdate, told: bool) -> Rich:
    if revert.value is None:
        who = "your manager has been told" if told else "the blocker is resolved"
        return rich("↩ Withdrawn: the flag on ", strong(kr.title), f" — {who}.")
    back = replace(kr, current=revert.value)
    return rich("↩ Undone: ", strong(kr.title), f" is back to {value_text(back)}.")
