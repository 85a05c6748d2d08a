"""What check-ins remember of a key result flagged at risk: its blocker, and the tracker since."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from bot.core.model import EpicFacts, KeyResult, ProgressUpdate, Snapshot, UpdateSource
from bot.core.risk import RiskPolicy, fired
from bot.core.sync import epic_from_details

if TYPE_CHECKING:
    from bot.core.deps import Deps

FLAG_REST = timedelta(days=7)  # a flag is offered again after this long, even with nothing new


@dataclass(frozen=True)
class Flagged:
    """A key result flagged at risk (an open blocker, or the tracker's flag we wrote)."""

    raised_at: datetime  # the flag
    at: datetime  # the flag, or the last word on the key result since (a "still blocked")
    note: str | None  # the open blocker's note; None: only the tracker's flag we wrote is left
    followed_up: bool  # heard about since the flag: the follow-up question was answered
    since: Snapshot | None = None  # the tracker's first reading from `at` on

    def news(self, epic: EpicFacts | None, on: date, policy: RiskPolicy) -> bool:
        """The tracker shows something new since the flag: a signal it did not show then, or
        a newer update (the flag we wrote is in the first reading after it). "Not updated for
        N days" is no news: it fires because nothing happened."""
        if self.since is None or epic is None:
            return False
        then = epic_from_details(self.since.details)
        now = set(fired(epic, on, policy)) - {"stale"}
        if now - set(fired(then, self.since.seen_at.date(), policy)):
            return True
        return bool(epic.updated and then.updated and epic.updated > then.updated)

    def rested(self, now: datetime) -> bool:
        return now - self.at >= FLAG_REST


async def flagged(
    deps: Deps,
    krs: Sequence[KeyResult],
    history: Mapping[str, Sequence[ProgressUpdate]],
    epics: Mapping[str, Snapshot],
) -> dict[str, Flagged]:
    """Each of `krs` flagged at risk, by key: its latest open blocker, else the flag we wrote
    that the tracker (`epics`, its latest readings) still shows."""
    if not krs:
        return {}
    blockers = {b.kr: b for b in await deps.ledger.open_blockers()}  # oldest first: latest wins
    found: dict[str, Flagged] = {}
    for kr in krs:
        updates = history.get(kr.key, ())
        blocker = blockers.get(kr.key)
        reading = epics.get(kr.key)
        if blocker is not None:
            later = [u.at for u in updates if u.at > blocker.raised_at]
            last = max([blocker.raised_at, *later])
            flag = Flagged(blocker.raised_at, last, blocker.note, bool(later))
        else:
            ours = [u.at for u in updates if u.source is UpdateSource.TRACKER_FLAG]
            if not ours or reading is None or not reading.details.get("flagged"):
                continue
            flag = Flagged(ours[-1], ours[-1], None, True)
        if reading is not None:
            since = await deps.snapshots.first_since(reading.source, kr.key, flag.at)
            flag = replace(flag, since=since)
        found[kr.key] = flag
    return found
