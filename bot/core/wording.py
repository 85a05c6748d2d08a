"""A prompt's words, written from its facts when it is sent: what the source showed, asked."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from bot.core.measure import against
from bot.core.model import KrKind, Reads
from bot.core.planned import (
    CrmShowed,
    Shown,
    StillBlocked,
    TrackerShowed,
    Unreached,
    WeeklyCheck,
)
from bot.core.prompts import PromptItem
from bot.core.rich import Rich, rich, said, strong
from bot.core.risk import describe
from bot.core.text import CURRENCY_PREFIXES, amount, day, number


@dataclass(frozen=True)
class Words:
    """What a prompt says, written from its facts when it is sent."""

    headline: Rich
    question: Rich
    links: tuple[tuple[str, str], ...] = ()


def words(shown: Shown | None, items: tuple[PromptItem, ...]) -> Words:
    """The words of a prompt, from what its source showed and the key results it asks about."""
    first = items[0] if items else PromptItem("", "", "", 0.0, 0.0)
    if isinstance(shown, Unreached):
        why = (
            f"I couldn't reach {shown.source} just now."
            if shown.connected
            else f"{shown.source} isn't connected, so I can't read your numbers from it."
        )
        return Words(
            rich(why),
            rich(
                "Where does ",
                strong(first.title),
                f" stand? (last value {amount(first.current, first.unit)})",
            ),
        )
    if isinstance(shown, CrmShowed | TrackerShowed):
        told = (
            _crm_words(shown, items)
            if isinstance(shown, CrmShowed)
            else _tracker_words(shown, first)
        )
        if isinstance(shown, CrmShowed) and shown.more:
            later = f"\n…and {shown.more} more changed — I'll ask about them next."
            told = replace(told, question=told.question + later)
        if shown.stale and shown.seen_at:  # an old reading is not presented as a live fact
            when = f"{day(shown.seen_at.date())} {shown.seen_at:%H:%M}"
            told = replace(told, headline=rich(f"As of {when}, ") + told.headline)
        return told
    if isinstance(shown, StillBlocked):
        return Words(
            rich(f"On {day(shown.flagged_on)} you flagged ", strong(first.title), " at risk."),
            still_blocked(shown.note),
        )
    if isinstance(shown, WeeklyCheck) and shown.kr_kind is not KrKind.MILESTONE:
        return Words(
            rich(
                "Weekly check: where does ",
                strong(first.title),
                f" stand? (last value {amount(first.current, first.unit)})",
            ),
            rich("Update it, or is it still on track?"),
        )
    if isinstance(shown, WeeklyCheck):
        last = f" (you said {shown.confidence}%)" if shown.confidence is not None else ""
        return Words(
            rich("Weekly check: how confident are you in ", strong(first.title), f"{last}?"),
            rich("Still on track?"),
        )
    return Words(rich(), rich())


def still_blocked(note: str) -> Rich:
    return rich("Still blocked on “", said(note), "”?")


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
        f"({against(i.proposed or 0.0, i.start, i.target, i.quota, i.unit)})"
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
    question = (
        still_blocked(shown.blocker)
        if shown.blocker is not None
        else rich("Flag ", strong(kr.title), " as at risk and add a blocker note for your manager?")
    )
    return Words(headline, question, ((epic.key, epic.link),) if epic.link else ())
