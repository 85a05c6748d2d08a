"""Risk signals read from tracker facts: pure functions, each signal saying what fired and why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bot.core.model import EpicFacts
from bot.core.text import day


@dataclass(frozen=True)
class RiskPolicy:
    due_soon_days: int = 14
    open_share: float = 0.5
    stale_days: int = 14


@dataclass(frozen=True)
class Signal:
    code: str
    text: str


def signals(epic: EpicFacts, today: date, policy: RiskPolicy | None = None) -> list[Signal]:
    """Every risk signal that fires for `epic` on `today`, most serious first."""
    policy = policy or RiskPolicy()
    if epic.done:
        return []
    found: list[Signal] = []
    open_text = f"{epic.open_issues} of {epic.total_issues} issues open"
    if epic.due and epic.due < today:
        found.append(Signal("past_due", f"is past its due date ({day(epic.due)}) with {open_text}"))
    elif epic.due and (epic.due - today).days <= policy.due_soon_days and epic.total_issues:
        share = epic.open_issues / epic.total_issues
        if share > policy.open_share:
            days_left = (epic.due - today).days
            when = "today" if days_left == 0 else f"in {days_left} day{'s' * (days_left != 1)}"
            found.append(
                Signal(
                    "due_soon",
                    f"is due {when} ({day(epic.due)}) "
                    f"with {round(share * 100)}% of its issues open ({open_text})",
                )
            )
    if epic.flagged:
        found.append(Signal("flagged", "is flagged as an impediment"))
    if epic.blocked:
        found.append(Signal("blocked", f"is in status {epic.status}"))
    if epic.updated and (today - epic.updated.date()).days >= policy.stale_days:
        found.append(
            Signal("stale", f"has not been updated for {(today - epic.updated.date()).days} days")
        )
    return found
