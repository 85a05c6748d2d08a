"""Compose a manager's team digest and the leader's roll-up from what is stored."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core import checkins
from bot.core.cadence import DIGEST_CADENCE, local_time
from bot.core.deps import Deps
from bot.core.errors import NotAllowed, NotFound
from bot.core.model import (
    CheckIn,
    CheckInState,
    KeyResult,
    Objective,
    ProgressUpdate,
    Status,
    Team,
    UpdateSource,
)
from bot.core.standing import Standing, standings
from bot.core.text import amount

DEFAULT_WINDOW = timedelta(days=7)
UNSENT = (CheckInState.SKIPPED, CheckInState.FAILED, CheckInState.PLANNED, CheckInState.SENDING)


@dataclass(frozen=True)
class Changed:
    who: str
    kr: str
    text: str


@dataclass(frozen=True)
class Digest:
    """What a manager acts on, in order: exceptions, what changed, the rest, participation."""

    team: str
    manager: str
    since: datetime
    until: datetime
    exceptions: tuple[Standing, ...]  # at risk, overdue, behind pace, no recent update
    changes: tuple[Changed, ...]  # one per key result whose value or status moved
    rest: tuple[Standing, ...]  # on track, on pace, done
    no_answer: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...]  # not asked (away, a holiday): who, why
    unreachable: tuple[tuple[str, str], ...]  # the platform refused them: who, why
    asked: int  # check-ins delivered to people who could be reached
    answered: int
    channel: str | None = None
    manager_email: str = ""

    @property
    def participation(self) -> float | None:
        return self.answered / self.asked if self.asked else None

    @property
    def lines(self) -> tuple[Standing, ...]:
        return self.exceptions + self.rest


async def compose(
    deps: Deps, team_name: str, *, viewer: str | None = None, since: datetime | None = None
) -> Digest:
    """The digest for one team; `viewer`, when given, must be its manager or a leader."""
    teams = {t.name.lower(): t for t in await deps.directory.teams()}
    team = teams.get(team_name.lower())
    if team is None:
        raise NotFound(f"There is no team {team_name!r} (teams: {', '.join(sorted(teams))}).")
    if viewer is not None and viewer != team.manager:
        person = await deps.directory.person(viewer)
        if person is None or person.role.value != "leader":
            raise NotAllowed(f"Only {team.name}'s manager can read its digest.")
    now = deps.clock.now()
    start = since or await deps.digests.last_posted(team.name) or now - DEFAULT_WINDOW
    names = {p.email: p.name for p in await deps.directory.people()}
    manager = await deps.directory.person(team.manager)
    zone = manager.timezone if manager else (await deps.directory.organisation()).timezone
    krs = await deps.directory.key_results(sorted(set(team.members) | {team.manager}))
    found = sorted(
        await standings(deps, krs, zone=zone, since=start, names=names), key=lambda s: s.rank
    )
    window = [u for u in await deps.ledger.updates_since(start) if u.at <= now]
    rows = [
        r
        for r in await deps.outbox.between(start, now)
        if r.person in team.members and r.kind.is_prompt
    ]
    who = Participation.of(rows, names)
    return Digest(
        team.name,
        names.get(team.manager, team.manager),
        start,
        now,
        tuple(s for s in found if s.exception),
        changes(window, {kr.key: kr for kr in krs}, names),
        tuple(s for s in found if not s.exception),
        who.no_answer,
        who.skipped,
        who.unreachable,
        who.asked,
        who.answered,
        team.digest_channel,
        team.manager,
    )


@dataclass(frozen=True)
class Participation:
    """Who was asked and answered, counting only people who could be reached."""

    asked: int
    answered: int
    no_answer: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...]
    unreachable: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, rows: Sequence[CheckIn], names: dict[str, str]) -> Participation:
        latest = {r.person: r for r in sorted(rows, key=lambda r: r.created_at)}
        gone = {p for p, r in latest.items() if refused(r)}
        reached = [r for r in rows if r.person not in gone]
        asked = [r for r in reached if r.state not in UNSENT]
        expired = {names.get(r.person, r.person) for r in asked if r.state is CheckInState.EXPIRED}

        def listed(found: Iterable[CheckIn]) -> tuple[tuple[str, str], ...]:
            return tuple(sorted({(names.get(r.person, r.person), why(r)) for r in found}))

        return cls(
            len(asked),
            sum(r.state is CheckInState.ANSWERED for r in asked),
            tuple(sorted(expired)),
            listed(r for r in reached if r.state is CheckInState.SKIPPED and not refused(r)),
            listed(latest[p] for p in gone),
        )


def refused(row: CheckIn) -> bool:
    """Whether the platform refused to reach the person (now, or when this was planned)."""
    return row.state is CheckInState.FAILED or (
        row.state is CheckInState.SKIPPED
        and (row.skip_reason or "").startswith(checkins.UNREACHABLE)
    )


def changes(
    updates: Sequence[ProgressUpdate], krs: dict[str, KeyResult], names: dict[str, str]
) -> tuple[Changed, ...]:
    """One line per key result over the window: its first previous value → its last value, and
    the status it was left in; nothing for a key result that ended where it began."""
    grouped: dict[str, list[ProgressUpdate]] = {}
    for update in updates:
        if update.kr in krs:
            grouped.setdefault(update.kr, []).append(update)
    found = []
    for key, mine in grouped.items():
        kr = krs[key]
        parts = []
        valued = [u for u in mine if u.value is not None]
        if valued and valued[0].previous != valued[-1].value:
            last = valued[-1]
            was = valued[0].previous
            moved = f"{amount(was, kr.unit)} → " if was is not None else ""
            crm = last.source is UpdateSource.CRM_CONFIRMED
            how = "confirmed from the CRM" if crm else "updated by hand"
            parts.append(f"{moved}{amount(last.value or 0.0, kr.unit)} ({how})")
        statuses = [u.status for u in mine if u.status is not None]
        if statuses and (statuses[-1] is not Status.ON_TRACK or len(set(statuses)) > 1):
            parts.append(f"marked {statuses[-1].label}")  # "on track" alone confirms, not changes
        if parts:
            found.append(Changed(names.get(kr.owner, kr.owner), kr.title, ", ".join(parts)))
    return tuple(found)


@dataclass(frozen=True)
class RollupNode:
    title: str
    progress: float
    at_risk: int
    children: tuple[RollupNode, ...] = ()
    # A key result's own: whose it is, the team whose digest shows it, why it is at risk.
    owner: str | None = None
    team: str | None = None
    reasons: tuple[str, ...] = ()
    note: str | None = None
    link: str | None = None
    flags: int = 0


async def rollup(deps: Deps) -> tuple[RollupNode, ...]:
    """Company themes down to key results, each node the mean progress of its children; a key
    result at risk carries its reasons, latest blocker note and team."""
    objectives = await deps.directory.objectives()
    krs = await deps.directory.key_results()
    teams = await deps.directory.teams()
    names = {p.email: p.name for p in await deps.directory.people()}
    zone = (await deps.directory.organisation()).timezone
    since = deps.clock.now() - DEFAULT_WINDOW
    found = {s.kr.key: s for s in await standings(deps, krs, zone=zone, since=since, names=names)}
    team_of = {o.key: o.team for o in objectives}

    def leaf(kr: KeyResult) -> RollupNode:
        standing = found[kr.key]
        if standing.assessment.status not in (Status.AT_RISK, Status.OFF_TRACK):
            return RollupNode(kr.title, kr.progress, 0)
        note = standing.note
        return RollupNode(
            kr.title,
            kr.progress,
            1,
            owner=standing.owner,
            team=owning_team(teams, kr.owner) or team_of.get(kr.objective),
            reasons=standing.reasons,
            note=note.note if note else None,
            link=note.link if note else None,
            flags=len(standing.blockers),
        )

    def build(objective: Objective) -> RollupNode:
        kids = [build(o) for o in objectives if o.parent == objective.key]
        kids += [leaf(kr) for kr in krs if kr.objective == objective.key]
        progress = sum(k.progress for k in kids) / len(kids) if kids else 0.0
        return RollupNode(objective.title, progress, sum(k.at_risk for k in kids), tuple(kids))

    return tuple(build(o) for o in objectives if o.parent is None)


def owning_team(teams: Sequence[Team], person: str) -> str | None:
    """The team whose digest shows this person's key results."""
    for team in teams:
        if person in team.members or person == team.manager:
            return team.name
    return None


def at_risk(nodes: Iterable[RollupNode]) -> list[RollupNode]:
    """The key results at risk anywhere under `nodes`, in the order they appear."""
    found: list[RollupNode] = []
    for node in nodes:
        found += at_risk(node.children) if node.children else [node] if node.at_risk else []
    return found


def flagged(count: int) -> str:
    """`flagged 2×` for a key result flagged more than once; nothing for once."""
    return f"flagged {count}×" if count > 1 else ""


async def due_digests(deps: Deps) -> list[str]:
    """Teams whose digest is due: Monday 09:00 in the manager's zone, once per week."""
    now = deps.clock.now()
    due: list[str] = []
    for team in await deps.directory.teams():
        manager = await deps.directory.person(team.manager)
        if manager is None:
            continue
        local = local_time(manager, now)
        if local.weekday() not in DIGEST_CADENCE.days or local.time() < DIGEST_CADENCE.at:
            continue
        last = await deps.digests.last_posted(team.name)
        week = DIGEST_CADENCE.period(local.date())
        if last is None or DIGEST_CADENCE.period(local_time(manager, last).date()) != week:
            due.append(team.name)
    return due


def why(row: CheckIn) -> str:
    """The reason a prompt was not asked, as the digest shows it."""
    if row.state is CheckInState.FAILED:
        return checkins.UNREACHABLE + (row.skip_reason or "unknown error")
    return row.skip_reason or "skipped"
