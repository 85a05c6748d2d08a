"""A person's own check-in days and time, read and changed from chat (`goals checkin …`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import time

from bot.core.cadence import DAY_NAMES, cadence_for
from bot.core.deps import Deps
from bot.core.model import Person
from bot.core.ports import Change
from bot.core.rich import Rich, code, rich, said

USAGE = rich(
    "Say e.g. ",
    code("checkin at 17:00"),
    ", ",
    code("checkin on mon,wed,fri"),
    ", ",
    code("checkin on mon-fri at 09:30"),
    " or ",
    code("checkin reset"),
    ".",
)
NAMED = {"weekdays": (0, 1, 2, 3, 4), "daily": (0, 1, 2, 3, 4, 5, 6)}


@dataclass(frozen=True)
class ScheduleChange:
    days: tuple[int, ...] | None = None
    at: time | None = None
    reset: bool = False

    @property
    def empty(self) -> bool:
        return self.days is None and self.at is None and not self.reset


def parse(words: list[str]) -> ScheduleChange | Rich:
    """`[on DAYS] [at HH:MM]` or `reset`; a text is the error to show."""
    words = [w.lower() for w in words]
    if words == ["reset"]:
        return ScheduleChange(reset=True)
    days: tuple[int, ...] | None = None
    at: time | None = None
    while words:
        verb, words = words[0], words[1:]
        if verb == "at" and words:
            at = parse_time(words[0])
            if at is None:
                return rich("“", said(words[0]), "” is not a time of day — use HH:MM, e.g. 16:30.")
            words = words[1:]
        elif verb == "on" and words:
            cut = words.index("at") if "at" in words else len(words)
            parsed = parse_days(" ".join(words[:cut]))
            words = words[cut:]
            if isinstance(parsed, Rich):
                return parsed
            days = parsed
        else:
            return USAGE
    return ScheduleChange(days, at)


def parse_time(text: str) -> time | None:
    """`9`, `9:30`, `09:30`, `17:15`."""
    found = re.fullmatch(r"(\d{1,2})(?::(\d{2}))?", text)
    if found is None:
        return None
    hour, minute = int(found[1]), int(found[2] or 0)
    return time(hour, minute) if hour < 24 and minute < 60 else None


def parse_days(spec: str) -> tuple[int, ...] | Rich:
    """`mon,wed,fri`, `mon wed`, `mon-fri`, `weekdays`."""
    if spec in NAMED:
        return NAMED[spec]
    found: set[int] = set()
    for part in spec.replace(",", " ").split():
        ends = part.split("-")
        try:
            indexes = [[n.lower() for n in DAY_NAMES].index(e[:3]) for e in ends]
        except ValueError:
            return rich("“", said(part), "” is not a day — use mon, tue, wed, thu, fri, sat, sun.")
        if len(indexes) == 2 and indexes[0] <= indexes[1]:
            found.update(range(indexes[0], indexes[1] + 1))
        elif len(indexes) == 1:
            found.add(indexes[0])
        else:
            return rich("“", said(part), "” is not a range of days — e.g. mon-fri.")
    return tuple(sorted(found)) if found else USAGE


def describe(person: Person) -> str:
    cadence = cadence_for(person)
    if cadence is None:
        return "You get digests rather than check-ins, so there is no check-in time to set."
    days = ", ".join(DAY_NAMES[d] for d in cadence.days)
    return f"Your check-ins: {days} at {cadence.at:%H:%M} ({person.timezone})."


async def change(deps: Deps, person: Person, wanted: ScheduleChange, answer_id: str) -> Rich:
    """Apply `wanted` to the person's own schedule (once per answer id) and say what it is now."""
    if wanted.empty or cadence_for(person) is None:
        return rich(describe(person), "" if cadence_for(person) is None else "\n" + USAGE)
    days = None if wanted.reset else wanted.days or person.checkin_days
    at = None if wanted.reset else wanted.at or person.checkin_at
    await deps.ledger.apply(Change(answer_id, deps.clock.now(), checkin=(person.email, days, at)))
    updated = replace(person, checkin_days=days, checkin_at=at)
    return rich("Done. " + describe(updated))
