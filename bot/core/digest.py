"""Compose a manager's team digest and the leader's roll-up from what is stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core import checkins
from bot.core.cadence import DIGEST_CADENCE, local_time
from bot.core.deps import Deps
from bot.core.errors import NotAllowed, NotFound
from bot.core.model import CheckIn, CheckInState, KeyResult, Objective, Status, UpdateSource
from bot.core.text import amount

DEFAULT_WINDOW = timedelta(days=7)


@dataclass(frozen=True)
class KrLine:
    key: str
    title: str
    owner: str
    progress: float
    value: str
    status: Status
    confidence: int | None


@dataclass(frozen=True)
class Changed:
    who: str
    kr: str
    text: str


@dataclass(frozen=True)
class Risk:
    who: str
    kr: str
    note: str
    link: str | None
    confidence: int | None


@dataclass(frozen=True)
class Digest:
    team: str
    manager: str
    since: datetime
    until: datetime
    lines: tuple[KrLine, ...]
    changes: tuple[Changed, ...]
    risks: tuple[Risk, ...]
    no_answer: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...]
    asked: int
    answered: int
    channel: str | None = None
    manager_email: str = ""

    @property
    def participation(self) -> float | None:
        return self.answered / self.asked if self.asked else None


def describe_value(kr: KeyResult) -> str:
    if kr.kind.value == "milestone":
        due = f", due {kr.due:%d %b}" if kr.due else ""
        sure = f", {kr.confidence}% confident" if kr.confidence is not None else ""
        return f"{kr.status.label}{due}{sure}"
    return f"{amount(kr.current, kr.unit)} / {amount(kr.target, kr.unit)}"


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
    members = set(team.members) | {team.manager}
    names = {p.email: p.name for p in await deps.directory.people()}
    krs = await deps.directory.key_results(sorted(members))
    titles = {kr.key: kr.title for kr in krs}
    lines = tuple(
        KrLine(
            kr.key,
            kr.title,
            names.get(kr.owner, kr.owner),
            kr.progress,
            describe_value(kr),
            kr.status,
            kr.confidence,
        )
        for kr in krs
    )
    changes = []
    by_key = {kr.key: kr for kr in krs}
    for update in await deps.ledger.updates_since(start):
        kr = by_key.get(update.kr)
        if kr is None or update.at > now:
            continue
        changes.append(
            Changed(
                names.get(update.actor, update.actor),
                kr.title,
                _change_text(update.source, update.value, update.previous, update.status, kr),
            )
        )
    risks = tuple(
        Risk(names.get(b.person, b.person), titles[b.kr], b.note, b.link, by_key[b.kr].confidence)
        for b in await deps.ledger.open_blockers()
        if b.kr in titles
    )
    rows = [
        r
        for r in await deps.outbox.between(start, now)
        if r.person in team.members and r.kind.is_prompt
    ]
    unsent = (CheckInState.SKIPPED, CheckInState.FAILED, CheckInState.PLANNED, CheckInState.SENDING)
    asked = [r for r in rows if r.state not in unsent]
    answered = [r for r in asked if r.state is CheckInState.ANSWERED]
    no_answer = sorted(
        {names.get(r.person, r.person) for r in asked if r.state is CheckInState.EXPIRED}
    )
    skipped = tuple(
        sorted(
            {
                (names.get(r.person, r.person), why(r))
                for r in rows
                if r.state in (CheckInState.SKIPPED, CheckInState.FAILED)
            }
        )
    )
    return Digest(
        team.name,
        names.get(team.manager, team.manager),
        start,
        now,
        lines,
        tuple(changes),
        risks,
        tuple(no_answer),
        skipped,
        len(asked),
        len(answered),
        team.digest_channel,
        team.manager,
    )


def _change_text(
    source: UpdateSource,
    value: float | None,
    previous: float | None,
    status: Status | None,
    kr: KeyResult,
) -> str:
    if value is not None:
        how = (
            "confirmed from the CRM" if source is UpdateSource.CRM_CONFIRMED else "updated by hand"
        )
        was = f"{amount(previous, kr.unit)} → " if previous is not None else ""
        return f"{was}{amount(value, kr.unit)} ({how})"
    return f"marked {status.label if status else 'updated'}"


@dataclass(frozen=True)
class RollupNode:
    title: str
    progress: float
    at_risk: int
    children: tuple[RollupNode, ...] = ()


async def rollup(deps: Deps) -> tuple[RollupNode, ...]:
    """Company themes down to key results, each node the mean progress of its children."""
    objectives = await deps.directory.objectives()
    krs = await deps.directory.key_results()

    def build(objective: Objective) -> RollupNode:
        kids = [build(o) for o in objectives if o.parent == objective.key]
        kids += [
            RollupNode(kr.title, kr.progress, int(kr.status is Status.AT_RISK))
            for kr in krs
            if kr.objective == objective.key
        ]
        progress = sum(k.progress for k in kids) / len(kids) if kids else 0.0
        return RollupNode(objective.title, progress, sum(k.at_risk for k in kids), tuple(kids))

    return tuple(build(o) for o in objectives if o.parent is None)


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
