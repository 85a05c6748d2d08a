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
    return [Signal(code, describe(code, epic, today)) for code in fired(epic, today, policy)]


def fired(epic: EpicFacts, today: date, policy: RiskPolicy | None = None) -> list[str]:
    """The codes of the signals that fire for `epic` on `today`, most serious first."""
    policy = policy or RiskPolicy()
    if epic.done:
        return []
    found: list[str] = []
    if epic.due and epic.due < today:
        found.append("past_due")
    elif (
        epic.due
        and (epic.due - today).days <= policy.due_soon_days
        and epic.total_issues
        and epic.open_issues / epic.total_issues > policy.open_share
    ):
        found.append("due_soon")
    if epic.flagged:
        found.append("flagged")
    if epic.blocked:
        found.append("blocked")
    if epic.updated and (today - epic.updated.date()).days >= policy.stale_days:
        found.append("stale")
    return found


def describe(code: str, epic: EpicFacts, today: date) -> str:
    """What signal `code` says of `epic` on `today`, to follow the epic's name in a sentence."""
    open_text = f"{epic.open_issues} of {epic.total_issues} issues open"
    due = day(epic.due) if epic.due else "no date"
    if code == "past_due":
        return f"is past its due date ({due}) with {open_text}"
    if code == "due_soon":
        days_left = (epic.due - today).days if epic.due else 0
        when = "today" if days_left == 0 else f"in {days_left} day{'s' * (days_left != 1)}"
        share = epic.open_issues / epic.total_issues if epic.total_issues else 0.0
        return f"is due {when} ({due}) with {round(share * 100)}% of its issues open ({open_text})"
    if code == "flagged":
        return "is flagged as an impediment"
    if code == "blocked":
        return f"is in status {epic.status}"
    if code == "stale":
        days = (today - epic.updated.date()).days if epic.updated else 0
        return f"has not been updated for {days} days"
    return code.replace("_", " ")
