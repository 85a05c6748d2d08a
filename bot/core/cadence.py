"""When each person is due a check-in, in their own timezone, and why one is skipped."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.core.model import CheckInKind, Person, Role
from bot.core.text import day

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class Cadence:
    days: tuple[int, ...]
    at: time
    weekly: bool = False

    def period(self, local_day: date) -> str:
        if self.weekly:
            year, week, _ = local_day.isocalendar()
            return f"{year}-W{week:02d}"
        return local_day.isoformat()

    def describe(self) -> str:
        return f"{'/'.join(DAY_NAMES[d] for d in self.days)} {self.at:%H:%M}"


CADENCES: dict[Role, Cadence] = {
    Role.SALES: Cadence((0, 1, 2, 3, 4), time(16, 30)),
    Role.ENGINEERING: Cadence((3,), time(10, 0), weekly=True),
}
DIGEST_CADENCE = Cadence((0,), time(9, 0), weekly=True)


@dataclass(frozen=True)
class Due:
    """A person is due a check-in for `period`; `skip` says why they will not be asked."""

    period: str
    local: datetime
    skip: str | None = None


def local_time(person: Person, now: datetime) -> datetime:
    return now.astimezone(ZoneInfo(person.timezone))


Holiday = Callable[[str, date], str | None]


def cadence_for(person: Person) -> Cadence | None:
    """The role's cadence, with the person's (or their team's) days and time when set."""
    base = CADENCES.get(person.role)
    if base is None:
        return None
    return replace(base, days=person.checkin_days or base.days, at=person.checkin_at or base.at)


def due(
    person: Person, now: datetime, *, force: bool = False, holiday: Holiday | None = None
) -> Due | None:
    """Whether `person` should be asked now.

    `force` (an admin's "ask now") ignores the schedule, working days, holidays and quiet
    hours, but never a snooze: that is the person's own wish.
    """
    cadence = cadence_for(person)
    if cadence is None:
        return None
    local = local_time(person, now)
    if not force and (local.weekday() not in cadence.days or local.time() < cadence.at):
        return None
    period = cadence.period(local.date())
    if person.snoozed_until and local.date() <= person.snoozed_until:
        return Due(period, local, f"snoozed until {day(person.snoozed_until)}")
    if local.weekday() not in person.working_days and not force:
        return Due(period, local, f"{DAY_NAMES[local.weekday()]} is not a working day")
    name = holiday(person.country, local.date()) if holiday and person.country else None
    if name and not force:
        return Due(period, local, f"public holiday ({name})")
    if person.quiet_hours and person.quiet_hours.contains(local.time()) and not force:
        return None
    return Due(period, local)


def prompt_kinds(role: Role) -> tuple[CheckInKind, ...]:
    if role is Role.SALES:
        return (CheckInKind.CRM_CONFIRM,)
    if role is Role.ENGINEERING:
        return (CheckInKind.RISK_EXPLAIN, CheckInKind.CONFIDENCE_CHECK)
    return ()


def next_working_day(person: Person, after: date) -> date:
    candidate = after + timedelta(days=1)
    for _ in range(7):
        if candidate.weekday() in person.working_days:
            return candidate
        candidate += timedelta(days=1)
    return after + timedelta(days=1)


def next_check_in(person: Person, after: date) -> date | None:
    """The local day of the person's next scheduled check-in strictly after `after`."""
    cadence = cadence_for(person)
    if cadence is None:
        return None
    candidate = after + timedelta(days=1)
    for _ in range(14):
        if candidate.weekday() in cadence.days and candidate.weekday() in person.working_days:
            return candidate
        candidate += timedelta(days=1)
    return None
