"""Role playbooks: whether a check-in is worth sending, and what it says."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.core.model import CheckInKind, KeyResult, Person, Snapshot
from bot.core.rich import rich, strong
from bot.core.risk import RiskPolicy, signals
from bot.core.sources import SourceRole, Sources
from bot.core.sync import epic_from_details
from bot.core.text import CURRENCY_PREFIXES, amount, day, percent

MAX_DEALS = 5


@dataclass(frozen=True)
class Plan:
    kind: CheckInKind
    payload: dict[str, Any]


def item(kr: KeyResult, proposed: float | None = None) -> dict[str, Any]:
    return {
        "kr": kr.key,
        "title": kr.title,
        "unit": kr.unit,
        "current": kr.current,
        "target": kr.target,
        "proposed": proposed,
    }


def share(kr: KeyResult, value: float) -> float:
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
        return Plan(
            CheckInKind.CRM_CONFIRM,
            {
                "headline": f"I couldn't reach {sources.title(kr.source.kind)} just now.",
                "facts": [],
                "question": rich(
                    "Where does ",
                    strong(kr.title),
                    f" stand? (last value {amount(kr.current, kr.unit)})",
                ).dump(),
                "items": [item(kr)],
                "actions": ["adjust", "not_now"],
                "fallback": True,
            },
        )
    changed = [
        kr for kr in bound if readings[kr.key].value not in (kr.current, acknowledged.get(kr.key))
    ]
    if not changed:
        return None
    facts: list[str] = []
    links: list[list[str]] = []
    for kr in changed:
        reading = readings[kr.key]
        since = last_update.get(kr.key)
        deals = new_deals(list(reading.details.get("deals", [])), kr, since, reading.value)
        when = f"since {day(since)}" if since else "since your last update"
        if deals:
            total = sum(float(d["amount"]) for d in deals)
            currency = kr.unit if kr.unit in CURRENCY_PREFIXES else "$"
            money = amount(total, currency)
            facts.append(
                f"{sources.title(kr.source.kind)} shows you closed {len(deals)} "
                f"deal{'s' * (len(deals) != 1)} {when} ({money})."
            )
            for d in sorted(deals, key=lambda d: str(d["closed_on"]), reverse=True)[:MAX_DEALS]:
                label = (
                    f"{d['name']} — {amount(float(d['amount']), currency)}, closed {d['closed_on']}"
                )
                links.append([label, str(d.get("link") or "")])
            break
    lines = [
        strong(kr.title) + f" → {amount(readings[kr.key].value, kr.unit)} "
        f"({percent(share(kr, readings[kr.key].value))})"
        for kr in changed
    ]
    if len(changed) == 1:
        question = rich("Update ", lines[0], "?")
    else:
        question = rich("Update these key results?\n", rich("\n").join("• " + li for li in lines))
    if not facts:
        crm = sources.title(changed[0].source.kind)
        facts.append(f"{crm} shows new numbers since your last update.")
    return Plan(
        CheckInKind.CRM_CONFIRM,
        {
            "headline": facts[0],
            "facts": [],
            "question": question.dump(),
            "items": [item(kr, readings[kr.key].value) for kr in changed],
            "actions": ["confirm", "adjust", "not_now"],
            "links": links,
        },
    )


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
        fired = signals(epic, today, policy)
        tracker_name = sources.title(kr.source.kind)
        if fired:
            reasons = "; it ".join(s.text for s in fired)
            return Plan(
                CheckInKind.RISK_EXPLAIN,
                {
                    "headline": (
                        rich(f"{tracker_name} shows the work for ", strong(kr.title))
                        + f" ({epic.status}) {reasons}."
                        if kr.source.query
                        else rich(f"{tracker_name} shows epic {epic.key} ", strong(epic.title))
                        + f" {reasons}."
                    ).dump(),
                    "facts": [],
                    "question": rich(
                        "Flag ",
                        strong(kr.title),
                        " as at risk and add a blocker note for your manager?",
                    ).dump(),
                    "items": [item(kr)],
                    "signals": [s.code for s in fired],
                    "actions": ["flag_risk", "on_track", "snooze"],
                    "links": [[epic.key, epic.link]] if epic.link else [],
                },
            )
    kr = milestones[0]
    confidence = f" (you said {kr.confidence}%)" if kr.confidence is not None else ""
    return Plan(
        CheckInKind.CONFIDENCE_CHECK,
        {
            "headline": rich(
                "Weekly check: how confident are you in ", strong(kr.title), f"{confidence}?"
            ).dump(),
            "facts": [],
            "question": "Still on track?",
            "items": [item(kr)],
            "actions": ["on_track", "flag_risk", "snooze"],
        },
    )
