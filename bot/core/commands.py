"""Typed commands (`/goals …`, Teams 1:1 chat, the terminal) parsed to one neutral value."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from bot.core import schedule
from bot.core.answers import snooze
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
            rich(strong("goals snooze until YYYY-MM-DD"), " — no check-ins until that date"),
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


@dataclass(frozen=True)
class Command:
    name: str
    team: str | None = None
    until: date | None = None
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
        or command.name == "undo"
    )


def parse(text: str) -> Command:
    """`""`/`goals` → goals; `digest [team]`; `snooze until 2026-12-01`; `help`; else an error."""
    words = text.strip().split()
    if words and words[0].lower() in ("goals", "/goals"):
        words = words[1:]
    if not words:
        return Command("goals")
    verb, rest = words[0].lower(), words[1:]
    if verb == "help":
        return Command("help")
    if verb == "digest":
        return Command("digest", team=" ".join(rest) or None)
    if verb in ("checkin", "check-in", "schedule"):
        wanted = schedule.parse(rest)
        if isinstance(wanted, Rich):
            return Command("checkin", error=wanted)
        return Command("checkin", schedule=wanted)
    if verb == "snooze":
        if rest and rest[0].lower() == "until":
            rest = rest[1:]
        if len(rest) != 1:
            return Command("snooze", error=rich("Say when: ", code("snooze until 2026-12-01"), "."))
        try:
            return Command("snooze", until=date.fromisoformat(rest[0]))
        except ValueError:
            error = rich("“", said(rest[0]), "” is not a date — use YYYY-MM-DD.")
            return Command("snooze", error=error)
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
    if command.name == "snooze" and command.until:
        return Reply((await snooze(deps, person.email, command.until, ref)).text)
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
