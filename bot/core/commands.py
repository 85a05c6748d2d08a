"""Typed commands (`/goals …`, Teams 1:1 chat, the terminal) parsed to one neutral value."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from bot.core import schedule
from bot.core.answers import MAX_SNOOZE_DAYS, snooze, unsnooze
from bot.core.cadence import local_time
from bot.core.deps import Deps
from bot.core.digest import Digest, compose
from bot.core.errors import GoalnudgeError
from bot.core.history import history
from bot.core.model import Person
from bot.core.prompts import Notice
from bot.core.rich import Rich, code, of, rich, said, strong
from bot.core.schedule import ScheduleChange
from bot.core.standing import Standing, of_person
from bot.core.undo import undo

HELP = (
    rich("\n").join(
        [
            rich(strong("goals"), " — your key results, with buttons to update them"),
            rich(
                strong("goals digest [TEAM]"),
                " — your team's digest (managers; leaders may name any team)",
            ),
            rich(
                strong("goals snooze until YYYY-MM-DD"),
                " — no check-ins until that date (or ",
                strong("snooze 3 days"),
                ", ",
                strong("snooze until friday"),
                "; ",
                strong("unsnooze"),
                " to end it)",
            ),
            rich(
                strong("goals checkin [on mon-fri] [at 16:30]"),
                " — see or move your check-ins (",
                strong("reset"),
                ": your team's)",
            ),
            rich(strong("goals undo"), " — take back your last update or flag (within 24 hours)"),
            rich(
                strong("goals history [KR] [since YYYY-MM-DD]"),
                " — who changed your key results (or a report's), when and why",
            ),
            rich(strong("goals help"), " — this list"),
            rich(
                "You can also flag any message as a blocker: its ⋯ menu → ",
                strong("Flag as blocker"),
            ),
        ]
    )
    + "."
)


GREETINGS = frozenset({"hi", "hello", "hey", "hiya", "hi there", "hello there", "good morning"})
GOALS = frozenset({"", "goals", "my goals", "my key results", "key results", "my krs", "my okrs"})
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
UNITS = {"day": 1, "days": 1, "week": 7, "weeks": 7}


@dataclass(frozen=True)
class Until:
    """When a snooze ends, as typed: a date, a number of days from today, or the next weekday."""

    on: date | None = None
    days: int = 0
    weekday: int | None = None

    def resolve(self, today: date) -> date:
        if self.on is not None:
            return self.on
        if self.weekday is not None:
            return today + timedelta(days=(self.weekday - today.weekday() - 1) % 7 + 1)
        return today + timedelta(days=self.days)


@dataclass(frozen=True)
class Command:
    name: str
    team: str | None = None
    until: Until | None = None
    schedule: ScheduleChange | None = None
    error: Rich | None = None
    kr: str | None = None
    since: date | None = None
    at: datetime | None = None  # undo: the change made then (an Undo button's), else the last


def changes_state(text: str) -> bool:
    """Whether `text` is a command that changes something (and so is recorded before the
    platform is answered); the rest only read."""
    command = parse(text)
    return command.error is None and (
        (command.name == "snooze" and command.until is not None)
        or (command.name == "checkin" and command.schedule is not None)
        or command.name in ("undo", "unsnooze")
    )


def parse(text: str) -> Command:
    """`""`/`goals`/`my goals` → goals; `digest [team]`; `snooze until 2026-12-01`,
    `snooze 3 days`, `snooze until friday`; `unsnooze`; `checkin …`; `help`/`?`; `hi`;
    else an error. One branch per verb."""
    words = text.strip().split()
    if words and words[0].lower() in ("goals", "/goals"):
        words = words[1:]
    phrase = " ".join(words).lower()
    if phrase in ("help", "?", "help?", "commands"):
        return Command("help")
    phrase = phrase.rstrip("!.?")
    if phrase in GOALS:
        return Command("goals")
    if phrase in GREETINGS:
        return Command("hello")
    verb, rest = words[0].lower(), words[1:]
    if verb == "digest":
        return Command("digest", team=" ".join(rest) or None)
    if verb in ("checkin", "check-in", "schedule"):
        wanted = schedule.parse(rest)
        if isinstance(wanted, Rich):
            return Command("checkin", error=wanted)
        return Command("checkin", schedule=wanted)
    if verb == "snooze":
        until = snooze_words([w.lower() for w in rest])
        if isinstance(until, Rich):
            return Command("snooze", error=until)
        return Command("snooze", until=until)
    if verb == "unsnooze" and not rest:
        return Command("unsnooze")
    if verb == "undo":
        return _undo(rest)
    if verb == "history":
        return _history(rest)
    error = rich("I didn't understand “", said(text.strip()), "”. Try ", code("help"), ".")
    return Command("unknown", error=error)


def _undo(rest: list[str]) -> Command:
    """`undo`, or `undo TIME` (an Undo button's: the change made then)."""
    try:
        return Command("undo", at=datetime.fromisoformat(rest[0]) if rest else None)
    except ValueError:
        return Command("undo", error=rich("Just say ", code("undo"), "."))


def _history(rest: list[str]) -> Command:
    """`history [KR] [since YYYY-MM-DD]`."""
    lowered = [w.lower() for w in rest]
    since = None
    if "since" in lowered:
        at = lowered.index("since")
        rest, raw = rest[:at] + rest[at + 2 :], rest[at + 1 : at + 2]
        try:
            since = date.fromisoformat(raw[0]) if raw else None
        except ValueError:
            since = None
        if since is None:
            example = code("history since 2026-11-01")
            return Command("history", error=rich("Say since when, e.g. ", example, "."))
    if len(rest) > 1:
        example = code("history arr-alice since 2026-11-01")
        return Command("history", error=rich("Name one key result, e.g. ", example, "."))
    return Command("history", kr=rest[0] if rest else None, since=since)


def snooze_words(rest: list[str]) -> Until | Rich:
    """`until 2026-12-01`, `2026-12-01`, `3 days`, `for 2 weeks`, `until friday`, `tomorrow`."""
    if rest and rest[0] in ("until", "till", "for", "to"):
        rest = rest[1:]
    if rest and rest[0] == "next":
        rest = rest[1:]
    if len(rest) == 2 and rest[0] in ("a", "one"):
        rest = ["1", rest[1]]
    if len(rest) == 2 and rest[0].isdigit() and rest[1] in UNITS:
        days = int(rest[0]) * UNITS[rest[1]]
        if not 0 < days <= MAX_SNOOZE_DAYS:
            return rich(f"Snooze for 1 to {MAX_SNOOZE_DAYS} days at a time.")
        return Until(days=days)
    if len(rest) != 1:
        return rich(
            "Say when: ", code("snooze until 2026-12-01"), " or ", code("snooze 3 days"), "."
        )
    word = rest[0]
    if word == "tomorrow":
        return Until(days=1)
    named = [i for i, name in enumerate(WEEKDAYS) if len(word) >= 3 and name.startswith(word)]
    if named:
        return Until(weekday=named[0])
    try:
        return Until(on=date.fromisoformat(word))
    except ValueError:
        return rich(
            "“", said(word), "” is not a date — use YYYY-MM-DD, a weekday or ", code("3 days"), "."
        )


@dataclass(frozen=True)
class Reply:
    """What a typed command answers, for each channel to render its own way."""

    text: Rich = field(default_factory=Rich)
    digest: Digest | None = None
    goals: tuple[Standing, ...] | None = None
    notices: tuple[Notice, ...] = ()  # what it told others (a manager, of a withdrawn flag)


async def run(deps: Deps, person: Person, text: str, ref: str) -> Reply:
    """Carry out a typed command for `person`; `ref` makes a repeated delivery apply once."""
    command = parse(text)
    if command.error:
        return Reply(command.error)
    if command.name == "help":
        return Reply(HELP)
    if command.name == "hello":
        return Reply(rich(f"Hi {person.first_name}! Here is what I can do:\n") + HELP)
    if command.name == "snooze" and command.until:
        today = local_time(person, deps.clock.now()).date()
        until = command.until.resolve(today)
        return Reply((await snooze(deps, person.email, until, ref)).text)
    if command.name == "unsnooze":
        return Reply((await unsnooze(deps, person.email, ref)).text)
    if command.name == "checkin" and command.schedule is not None:
        return Reply(await schedule.change(deps, person, command.schedule, ref))
    if command.name == "undo":
        undone = await undo(deps, person, ref, command.at)
        return Reply(undone.text, notices=undone.notices)
    if command.name == "history":
        try:
            return Reply(await history(deps, person, command.kr, command.since))
        except GoalnudgeError as exc:
            return Reply(of(exc))
    if command.name == "digest":
        try:
            team = command.team or await managed_team(deps, person)
            return Reply(digest=await compose(deps, team, viewer=person.email))
        except GoalnudgeError as exc:
            return Reply(of(exc))
    return Reply(goals=tuple(await of_person(deps, person)))


async def managed_team(deps: Deps, person: Person) -> str:
    for team in await deps.directory.teams():
        if team.manager == person.email:
            return team.name
    raise GoalnudgeError("Digests are for managers: you don't manage a team.")
