"""Role playbooks: whether a check-in is worth sending, what it is about, and its words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.core.model import CheckInKind, Deal, KeyResult, Person, Reads, Snapshot
from bot.core.planned import (
    CrmShowed,
    PromptFacts,
    Shown,
    TrackerShowed,
    Unreached,
    WeeklyCheck,
)
from bot.core.prompts import ActionId, PromptItem
from bot.core.rich import Rich, rich, strong
from bot.core.risk import RiskPolicy, describe, fired
from bot.core.sources import SourceRole, Sources
from bot.core.sync import epic_from_details
from bot.core.text import CURRENCY_PREFIXES, amount, day, number, percent

MAX_DEALS = 5
# Key results one prompt asks about: what every channel shows in full, so "Yes, update" never
# confirms one the person was not shown; the rest are asked about in the next prompt.
MAX_ITEMS = 10
A = ActionId


@dataclass(frozen=True)
class Plan:
    kind: CheckInKind
    body: PromptFacts


@dataclass(frozen=True)
class Words:
    """What a prompt says, written from its facts when it is sent."""

    headline: Rich
    question: Rich
    links: tuple[tuple[str, str], ...] = ()


def item(kr: KeyResult, proposed: float | None = None) -> PromptItem:
    return PromptItem(kr.key, kr.title, kr.unit, kr.current, kr.target, proposed, kr.start)


def share(kr: KeyResult | PromptItem, value: float) -> float:
    span = kr.target - kr.start
    return 1.0 if span == 0 else max(0.0, (value - kr.start) / span)


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
) -> Plan | None:
    """Ask the rep to confirm what the CRM shows; nothing when nothing changed.

    A reading the rep already answered (say, adjusted by hand because the CRM was wrong) is
    not asked about again until the CRM shows something new.
    """
    acknowledged = acknowledged or {}
    bound = [kr for group in sources.bound(krs, SourceRole.CRM).values() for kr in group]
    if not bound:
        return None
    missing = [kr for kr in bound if kr.key not in readings]
    if missing:
        kr = missing[0]
        unreached = Unreached(sources.title(kr.source.kind))
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
) -> Plan | None:
    """Ask the engineer to explain tracker risk, else a light weekly confidence check."""
    milestones = [kr for kr in krs if kr.status.value != "done"]
    if not milestones:
        return None
    for kr in milestones:
        reading = epics.get(kr.key)
        if reading is None:
            continue
        epic = epic_from_details(reading.details)
        codes = tuple(fired(epic, today, policy))
        if codes:
            tracker = sources.title(kr.source.kind)
            shown = TrackerShowed(tracker, epic, today, codes, bool(kr.source.query))
            actions = (A.FLAG_RISK, A.ON_TRACK, A.SNOOZE)
            return Plan(CheckInKind.RISK_EXPLAIN, PromptFacts((item(kr),), actions, shown))
    kr = milestones[0]
    check = WeeklyCheck(kr.confidence)
    actions = (A.ON_TRACK, A.FLAG_RISK, A.SNOOZE)
    return Plan(CheckInKind.CONFIDENCE_CHECK, PromptFacts((item(kr),), actions, check))


def words(shown: Shown | None, items: tuple[PromptItem, ...]) -> Words:
    """The words of a prompt, from what its source showed and the key results it asks about."""
    first = items[0] if items else PromptItem("", "", "", 0.0, 0.0)
    if isinstance(shown, Unreached):
        return Words(
            rich(f"I couldn't reach {shown.source} just now."),
            rich(
                "Where does ",
                strong(first.title),
                f" stand? (last value {amount(first.current, first.unit)})",
            ),
        )
    if isinstance(shown, CrmShowed):
        crm = _crm_words(shown, items)
        if shown.more:
            later = f"\n…and {shown.more} more changed — I'll ask about them next."
            crm = Words(crm.headline, crm.question + later, crm.links)
        return crm
    if isinstance(shown, TrackerShowed):
        return _tracker_words(shown, first)
    if isinstance(shown, WeeklyCheck):
        said = f" (you said {shown.confidence}%)" if shown.confidence is not None else ""
        return Words(
            rich("Weekly check: how confident are you in ", strong(first.title), f"{said}?"),
            rich("Still on track?"),
        )
    return Words(rich(), rich())


def _crm_words(shown: CrmShowed, items: tuple[PromptItem, ...]) -> Words:
    if shown.reads is not Reads.DEALS and items:
        headline = _figure_headline(shown, items[0])
    elif shown.count:
        when = f"since {day(shown.since)}" if shown.since else "since your last update"
        headline = (
            f"{shown.source} shows you closed {shown.count} deal{'s' * (shown.count != 1)} "
            f"{when} ({amount(shown.total, shown.currency)})."
        )
    else:
        headline = f"{shown.source} shows new numbers since your last update."
    lines = [
        strong(i.title) + f" → {amount(i.proposed or 0.0, i.unit)} "
        f"({percent(share(i, i.proposed or 0.0))})"
        for i in items
    ]
    if len(lines) == 1:
        question = rich("Update ", lines[0], "?")
    else:
        question = rich("Update these key results?\n", rich("\n").join("• " + li for li in lines))
    links = tuple(
        (f"{d.name} — {amount(d.amount, shown.currency)}, closed {d.closed_on}", d.link or "")
        for d in shown.deals
    )
    return Words(rich(headline), question, links)


def _figure_headline(shown: CrmShowed, kr: PromptItem) -> str:
    """`Salesforce shows 6 demos since Mon 30 Nov: 31 of 45.`, `Salesforce shows your win rate at
    28% this quarter (target 30%).`"""
    value = kr.proposed or 0.0
    period = _period_words(shown.period)
    if shown.reads is Reads.LEVEL:
        scope = f" for {shown.scope}" if shown.scope else ""
        start = f"from {_bare(kr.start, kr.unit)}, " if kr.start else ""
        return (
            f"{shown.source} shows your {shown.noun or kr.title} at {amount(value, kr.unit)}"
            f"{scope} {period} ({start}target {_bare(kr.target, kr.unit)})."
        )
    fresh = value - kr.current
    counted = fresh if shown.since and fresh > 0 else value
    when = f"since {day(shown.since)}" if shown.since and fresh > 0 else period
    return (
        f"{shown.source} shows {amount(counted, shown.noun or kr.unit)} {when}: "
        f"{number(value)} of {number(kr.target)}."
    )


def _bare(value: float, unit: str) -> str:
    """A value the sentence already gave the unit of (`90`), but money and percentages."""
    return amount(value, unit) if unit in (*CURRENCY_PREFIXES, "%") else number(value)


def _period_words(period: tuple[date, date] | None) -> str:
    """`this quarter`, `this month`, `this year`; else `since Thu 1 Oct`."""
    if period is None:
        return "this period"
    days = (period[1] - period[0]).days + 1
    for name, shortest, longest in (("month", 28, 31), ("quarter", 89, 92), ("year", 365, 366)):
        if shortest <= days <= longest:
            return f"this {name}"
    return f"since {day(period[0])}"


def _tracker_words(shown: TrackerShowed, kr: PromptItem) -> Words:
    epic = shown.epic
    reasons = "; it ".join(describe(code, epic, shown.on) for code in shown.signals)
    if shown.by_query:
        headline = rich(f"{shown.source} shows the work for ", strong(kr.title))
        headline += f" ({epic.status}) {reasons}."
    else:
        headline = rich(f"{shown.source} shows epic {epic.key} ", strong(epic.title))
        headline += f" {reasons}."
    question = rich(
        "Flag ", strong(kr.title), " as at risk and add a blocker note for your manager?"
    )
    return Words(headline, question, ((epic.key, epic.link),) if epic.link else ())
