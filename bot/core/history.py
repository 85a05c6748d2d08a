"""`history [KR] [since DATE]`: who changed a key result, when, from where, and why."""

from __future__ import annotations

from datetime import date

from bot.core import access
from bot.core.cadence import local_time
from bot.core.deps import Deps
from bot.core.model import KeyResult, Person, ProgressUpdate, UpdateSource
from bot.core.rich import Rich, rich, said, strong
from bot.core.text import amount, day

SHOWN = 20  # entries listed at most: the latest
SOURCES = {
    UpdateSource.CRM_CONFIRMED: "confirmed from the CRM",
    UpdateSource.MANUAL: "by hand",
    UpdateSource.TRACKER_FLAG: "flagged",
    UpdateSource.UNDO: "undo",
}


async def history(deps: Deps, person: Person, key: str | None, since: date | None) -> Rich:
    """The updates of key result `key` (the person's own, or a report's: access decides), or of
    all the person's key results; from `since` on (the person's local day) when given."""
    if key:
        krs = [await access.key_result_for(deps, person, key)]
    else:
        krs = await deps.directory.key_results([person.email])
    found: list[tuple[ProgressUpdate, KeyResult]] = []
    for kr in krs:
        found += [(u, kr) for u in await deps.ledger.history(kr.key)]
    if since is not None:
        found = [(u, kr) for u, kr in found if local_time(person, u.at).date() >= since]
    found.sort(key=lambda pair: pair[0].at)
    heading = rich("History of ", strong(krs[0].title)) if key else rich("Your updates")
    heading += f" since {day(since)}" if since else ""
    if not found:
        return heading + ": none yet."
    actors = list({u.actor for u, _ in found})
    names = {p.email: p.name for p in await deps.directory.people(actors)}
    earlier = len(found) - SHOWN
    lines = [_line(person, u, kr, names.get(u.actor, u.actor)) for u, kr in found[-SHOWN:]]
    more = [rich(f"({earlier} earlier — add `since DATE` to go back)")] if earlier > 0 else []
    return rich("\n").join([heading + ":", *more, *lines])


def _line(viewer: Person, update: ProgressUpdate, kr: KeyResult, who: str) -> Rich:
    """`Mon 16 Nov 16:32 · Alice Example, by hand · *ARR*: $300,000 → $400,000 · “note”`."""
    when = local_time(viewer, update.at)
    what: list[str] = []
    if update.value is not None:
        before = f"{amount(update.previous, kr.unit)} → " if update.previous is not None else ""
        what.append(before + amount(update.value, kr.unit))
    if update.status is not None:
        what.append(update.status.label)
    if update.confidence is not None:
        what.append(f"confidence {update.confidence}%")
    line = rich(f"{day(when.date())} {when:%H:%M} · {who}, {SOURCES[update.source]} · ")
    line += rich(strong(kr.title), ": ", ", ".join(what) or "no change")
    return line + rich(" · ", said(update.note)) if update.note else line
