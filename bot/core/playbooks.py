"""Role playbooks: whether a check-in is worth sending and what it is about (its facts)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from bot.core.cadence import local_time
from bot.core.memory import Flagged
from bot.core.model import CheckInKind, Deal, KeyResult, KrKind, Person, Reads, Snapshot
from bot.core.planned import (
    CrmShowed,
    PromptFacts,
    StillBlocked,
    TrackerShowed,
    Unreached,
    WeeklyCheck,
)
from bot.core.prompts import ActionId, PromptItem
from bot.core.risk import RiskPolicy, fired
from bot.core.sources import SourceRole, Sources
from bot.core.sync import epic_from_details
from bot.core.text import CURRENCY_PREFIXES

MAX_DEALS = 5
# Key results one prompt asks about: what every channel shows in full, so "Yes, update" never
# confirms one the person was not shown; the rest are asked about in the next prompt.
MAX_ITEMS = 10
SYNC_EVERY = timedelta(minutes=60)  # the default sync interval: a reading older is cited "as of"
A = ActionId
BLOCKED = (A.STILL_BLOCKED, A.ON_TRACK, A.FLAG_RISK)  # about an open blocker: "on track" not first


@dataclass(frozen=True)
class Plan:
    kind: CheckInKind
    body: PromptFacts


def item(kr: KeyResult, proposed: float | None = None) -> PromptItem:
    return PromptItem(
        kr.key, kr.title, kr.unit, kr.current, kr.target, proposed, kr.start, kr.quota
    )


def new_deals(
    deals: list[dict[str, Any]], kr: KeyResult, since: date | None, proposed: float
) -> list[dict[str, Any]]:
    """Deals behind a change: closed after the last update; without one, the newest deals
    that make up the difference (the CRM may list only recent deals)."""
    if since is not None:
        return [d for d in deals if date.fromisoformat(str(d["closed_on"])) > since]
    gap = proposed - kr.current
    fresh: list[dict[str, Any]] = []
    for d in sorted(deals, key=lambda d: str(d["closed_on"]), reverse=True):
        if gap <= 0:
            break
        fresh.append(d)
        gap -= float(d["amount"]) if kr.unit in CURRENCY_PREFIXES else 1.0
    return fresh


def sales(
    person: Person,
    krs: list[KeyResult],
    readings: dict[str, Snapshot],
    last_update: dict[str, date],
    acknowledged: dict[str, float] | None,
    sources: Sources,
    *,
    now: datetime | None = None,
    fresh: timedelta = SYNC_EVERY,
) -> Plan | None:
    """Ask the rep to confirm what the CRM shows; nothing when nothing changed.

    A reading the rep already answered (say, adjusted by hand because the CRM was wrong) is
    not asked about again until the CRM shows something new. Without a CRM of the key result's
    kind configured, the rep is asked for the number and told why. A reading older than `fresh`
    at `now` says when it was read.
    """
    acknowledged = acknowledged or {}
    bound = [kr for group in sources.bound(krs, SourceRole.CRM).values() for kr in group]
    if not bound:
        return None
    missing = [kr for kr in bound if kr.key not in readings]
    if missing:
        kr = missing[0]
        kind = kr.source.kind
        unreached = Unreached(sources.title(kind), sources.configured(kind))
        return Plan(
            CheckInKind.CRM_CONFIRM, PromptFacts((item(kr),), (A.ADJUST, A.NOT_NOW), unreached)
        )
    changed = [
        kr for kr in bound if readings[kr.key].value not in (kr.current, acknowledged.get(kr.key))
    ]
    if not changed:
        return None
    more = max(0, len(changed) - MAX_ITEMS)
    changed = changed[:MAX_ITEMS]
    first = changed[0]
    source = sources.title(first.source.kind)
    shown = _showed(source, readings[first.key], last_update.get(first.key), more)
    for kr in changed if shown.reads is Reads.DEALS else ():
        reading = readings[kr.key]
        since = last_update.get(kr.key)
        listed = reading.details.get("deals")
        deals = new_deals(listed if isinstance(listed, list) else [], kr, since, reading.value)
        if deals:
            newest = sorted(deals, key=lambda d: str(d["closed_on"]), reverse=True)
            shown = CrmShowed(
                sources.title(kr.source.kind),
                since,
                len(deals),
                sum(float(d["amount"]) for d in deals),
                kr.unit if kr.unit in CURRENCY_PREFIXES else "$",
                tuple(map(_deal, newest[:MAX_DEALS])),
                more,
            )
            break
    seen_at, stale = seen(person, (readings[kr.key] for kr in changed), now, fresh)
    shown = replace(shown, seen_at=seen_at, stale=stale)
    items = tuple(item(kr, readings[kr.key].value) for kr in changed)
    return Plan(
        CheckInKind.CRM_CONFIRM, PromptFacts(items, (A.CONFIRM, A.ADJUST, A.NOT_NOW), shown)
    )


def _showed(source: str, reading: Snapshot, since: date | None, more: int) -> CrmShowed:
    """What a reading is, as its source said at sync; a figure of deals lists them later."""
    said, period = reading.details.get("measure"), reading.details.get("period")
    measure = said if isinstance(said, dict) else {}
    reads = Reads(measure.get("reads", Reads.DEALS))
    if reads is Reads.DEALS:
        return CrmShowed(source, more=more)
    span = tuple(map(date.fromisoformat, period)) if isinstance(period, list) else ()
    return CrmShowed(
        source,
        since,
        reads=reads,
        noun=str(measure.get("noun") or ""),
        more=more,
        scope=str(measure.get("scope") or ""),
        period=(span[0], span[1]) if len(span) == 2 else None,
    )


def seen(
    person: Person, readings: Iterable[Snapshot], now: datetime | None, fresh: timedelta
) -> tuple[datetime | None, bool]:
    """When the oldest of `readings` was read (the person's time), and whether that was longer
    than `fresh` before `now` (unknown `now`: fresh)."""
    oldest = min((r.seen_at for r in readings), default=None)
    if oldest is None:
        return None, False
    return local_time(person, oldest), now is not None and now - oldest > fresh


def _deal(d: dict[str, Any]) -> Deal:
    closed = date.fromisoformat(str(d["closed_on"]))
    return Deal(str(d["name"]), float(d["amount"]), closed, str(d.get("link") or "") or None)


def engineering(
    person: Person,
    krs: list[KeyResult],
    epics: dict[str, Snapshot],
    today: date,
    policy: RiskPolicy,
    sources: Sources,
    *,
    now: datetime | None = None,
    fresh: timedelta = SYNC_EVERY,
    flags: Mapping[str, Flagged] | None = None,
) -> Plan | None:
    """Ask the engineer to explain tracker risk, else a light weekly confidence check.

    A key result flagged at risk (`flags`) is asked what changed about its blocker at the next
    check-in; after that it is neither offered for flagging again nor asked "on track?" until
    the tracker shows something new or a week has passed. A reading older than `fresh` is
    judged, and cited, as of the day it was read."""
    open_krs = [kr for kr in krs if kr.status.value != "done"]
    flags = flags or {}
    for kr in open_krs:
        reading = epics.get(kr.key)
        seen_at, stale = seen(person, [reading] if reading else [], now, fresh)
        on = seen_at.date() if stale and seen_at else today
        epic = epic_from_details(reading.details) if reading else None
        codes = tuple(fired(epic, on, policy)) if epic else ()
        flag = flags.get(kr.key)
        if (
            flag is not None
            and flag.followed_up
            and not (flag.news(epic, on, policy) or (now is not None and flag.rested(now)))
        ):
            continue  # flagged, nothing new since: neither asked again nor offered to flag
        blocker = flag.note if flag is not None else None
        if flag is not None and flag.note is not None and (not flag.followed_up or not codes):
            return _still_blocked(person, kr, flag)
        if epic is None or not codes:
            continue
        tracker = sources.title(kr.source.kind)
        shown = TrackerShowed(
            tracker, epic, on, codes, bool(kr.source.query), seen_at, stale, blocker
        )
        actions = BLOCKED if blocker is not None else (A.FLAG_RISK, A.ON_TRACK, A.SNOOZE)
        return Plan(CheckInKind.RISK_EXPLAIN, PromptFacts((item(kr),), actions, shown))
    # a milestone's confidence first; a level or a count is asked for its value
    unflagged = sorted(
        (kr for kr in open_krs if kr.key not in flags),
        key=lambda kr: kr.kind is not KrKind.MILESTONE,
    )
    if not unflagged:
        return None
    kr = unflagged[0]
    if kr.kind is not KrKind.MILESTONE:
        check, actions = WeeklyCheck(kr_kind=kr.kind), (A.ADJUST, A.ON_TRACK, A.SNOOZE)
    else:
        check, actions = WeeklyCheck(kr.confidence), (A.ON_TRACK, A.FLAG_RISK, A.SNOOZE)
    return Plan(CheckInKind.CONFIDENCE_CHECK, PromptFacts((item(kr),), actions, check))


def _still_blocked(person: Person, kr: KeyResult, flag: Flagged) -> Plan:
    asked = StillBlocked(flag.note or "", local_time(person, flag.raised_at).date())
    return Plan(CheckInKind.RISK_EXPLAIN, PromptFacts((item(kr),), BLOCKED, asked))
