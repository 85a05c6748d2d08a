"""How far a key result has come, where it should be by now, and the status that follows."""

from __future__ import annotations

import enum
import itertools
from dataclasses import dataclass
from datetime import date, timedelta

from bot.core.model import KeyResult, KrKind, Status
from bot.core.text import amount, percent

WORKDAYS = (0, 1, 2, 3, 4)


@dataclass(frozen=True)
class Policy:
    """When a key result counts as at risk, behind, or quiet."""

    confidence_floor: int = 70  # below this a milestone is too risky
    pace_tolerance: float = 0.05  # share of the way from start to target still "on pace"
    quiet_days: int = 14  # no update or answer for this long: "no recent update"


class Verdict(enum.StrEnum):
    AHEAD = "ahead"
    ON_PACE = "on pace"
    BEHIND = "behind"


@dataclass(frozen=True)
class Pace:
    """Where a key result should be by `on`, and how far from it it is."""

    on: date
    expected: float
    verdict: Verdict
    gap: float  # distance from `expected`, always >= 0; the verdict says which way


@dataclass(frozen=True)
class Assessment:
    """What a key result's numbers, dates and answers say of it on one day."""

    status: Status
    pace: Pace | None = None
    overdue_days: int = 0
    reasons: tuple[str, ...] = ()  # why it is at risk, most serious first
    quiet: bool = False  # no update or answer for too long

    @property
    def exception(self) -> bool:
        """Whether a manager should look at it first."""
        return self.status in (Status.AT_RISK, Status.OFF_TRACK) or self.quiet


def workdays(start: date, end: date) -> int:
    """Working days in [start, end)."""
    if end <= start:
        return 0
    weeks, extra = divmod((end - start).days, 7)
    count = weeks * len(WORKDAYS)
    return count + sum((start + timedelta(d)).weekday() in WORKDAYS for d in range(extra))


def expected(kr: KeyResult, period_start: date, period_end: date, on: date) -> float:
    """Where `kr` should be by the end of `on`: linear over the period's working days from start
    to target, through the key result's checkpoints when it has any."""
    after = timedelta(days=1)  # a checkpoint's value and the target are due by the end of the day
    points = [(period_start, kr.start), *((d + after, v) for d, v in sorted(kr.checkpoints))]
    points.append((period_end + after, kr.target))
    for (a_day, a_value), (b_day, b_value) in itertools.pairwise(points):
        if on < b_day:
            total = workdays(a_day, b_day)
            done = workdays(a_day, on + after)
            return a_value + (b_value - a_value) * (done / total if total else 1.0)
    return kr.target


def pace(
    kr: KeyResult, period_start: date, period_end: date, today: date, policy: Policy
) -> Pace | None:
    """Ahead, on pace or behind, for a key result that moves toward a target over a period."""
    if kr.kind not in (KrKind.INCREASE, KrKind.DECREASE) or kr.status is Status.DONE:
        return None
    should = expected(kr, period_start, period_end, today)
    span = abs(kr.target - kr.start)
    ahead = (kr.current - should) * (1 if kr.target >= kr.start else -1)
    if abs(ahead) <= policy.pace_tolerance * span:
        verdict = Verdict.ON_PACE
    else:
        verdict = Verdict.AHEAD if ahead > 0 else Verdict.BEHIND
    return Pace(today, should, verdict, rounded(abs(ahead), span))


def rounded(gap: float, span: float) -> float:
    """A gap as precise as people read it: whole units on a span of 20 or more, else tenths."""
    return float(round(gap)) if span >= 20 else round(gap, 1)


def share(start: float, value: float, goal: float) -> float:
    """The share of the way from `start` to `goal` that `value` has come (over 1.0 past it)."""
    span = goal - start
    return 1.0 if span == 0 else max(0.0, (value - start) / span)


def against(value: float, start: float, target: float, quota: float | None, unit: str) -> str:
    """`74% of quota $600,000, 62% of target $720,000`, or `62% of target $720,000`."""
    of_target = f"{percent(share(start, value, target))} of target {amount(target, unit)}"
    if quota is None:
        return of_target
    return f"{percent(share(start, value, quota))} of quota {amount(quota, unit)}, {of_target}"


def assess(
    kr: KeyResult,
    period: tuple[date, date] | None,
    today: date,
    *,
    heard_on: date | None = None,
    unanswered: bool = False,
    policy: Policy | None = None,
) -> Assessment:
    """The key result's status on `today` from its pace, due date, confidence, the level it must
    keep, and the last answer; `heard_on` is the day of its last update or answer."""
    policy = policy or Policy()
    if kr.status is Status.DONE:
        return Assessment(Status.DONE)
    reasons: list[str] = []
    overdue = (today - kr.due).days if kr.kind is KrKind.MILESTONE and kr.due else 0
    if overdue > 0:
        reasons.append(f"overdue by {overdue} day{'s' * (overdue != 1)}")
    if kr.holds is False:
        side = "below" if kr.kind is KrKind.KEEP_ABOVE else "above"
        reasons.append(f"{side} {amount(kr.target, kr.unit)}")
    measured = pace(kr, period[0], period[1], today, policy) if period else None
    if measured and measured.verdict is Verdict.BEHIND:
        reasons.append(f"behind pace by {amount(measured.gap, kr.unit)}")
    if kr.confidence is not None and kr.confidence < policy.confidence_floor:
        reasons.append(f"{kr.confidence}% confident (below {policy.confidence_floor}%)")
    status = kr.status
    if reasons and status is Status.ON_TRACK:
        status = Status.AT_RISK
    since = heard_on or (period[0] if period else None)
    quiet = unanswered or (since is not None and (today - since).days >= policy.quiet_days)
    return Assessment(status, measured, max(overdue, 0), tuple(reasons), quiet)


def pace_text(measured: Pace, unit: str) -> str:
    """`ahead by $40,000`, `on pace`, `behind by 3 demos`."""
    if measured.verdict is Verdict.ON_PACE:
        return "on pace"
    return f"{measured.verdict.value} by {amount(measured.gap, unit)}"


def value_text(kr: KeyResult) -> str:
    """A key result's value as its kind reads: against quota and target, the level it keeps, or
    a milestone's due date."""
    if kr.kind is KrKind.MILESTONE:
        due = f", due {kr.due:%d %b}" if kr.due else ""
        return f"{percent(kr.progress)}{due}"
    now = amount(kr.current, kr.unit)
    if kr.kind in (KrKind.KEEP_ABOVE, KrKind.KEEP_BELOW):
        sign = "≥" if kr.kind is KrKind.KEEP_ABOVE else "≤"
        return f"{now} (keep {sign} {amount(kr.target, kr.unit)})"
    if kr.kind is KrKind.DECREASE:
        of_target = against(kr.current, kr.start, kr.target, None, kr.unit)
        return f"{now}, from {amount(kr.start, kr.unit)}: {of_target}"
    return f"{now} — {against(kr.current, kr.start, kr.target, kr.quota, kr.unit)}"
