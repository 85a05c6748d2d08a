"""Turn a validated org file into the core's OrgChart."""

from __future__ import annotations

from datetime import date, time
from typing import Any

from pydantic import BaseModel

from bot.core.model import (
    Identities,
    KeyResult,
    KrKind,
    Objective,
    Organisation,
    OrgChart,
    Person,
    QuietHours,
    Role,
    SourceBinding,
    Status,
    Team,
)
from bot.orgfile.schema import (
    DAYS,
    CheckinSpec,
    KeyResultSpec,
    ObjectiveSpec,
    OrgFileSpec,
    PersonSpec,
)
from integrations import registry

QUARTERS = {
    "Q1": (1, 3),
    "Q2": (4, 6),
    "Q3": (7, 9),
    "Q4": (10, 12),
    "H1": (1, 6),
    "H2": (7, 12),
    "FY": (1, 12),
}


def period(value: Any) -> tuple[date, date]:
    if isinstance(value, str):
        year, part = value.split("-")
        first, last = QUARTERS[part]
        end = date(int(year) + (last == 12), last % 12 + 1, 1).toordinal() - 1
        return date(int(year), first, 1), date.fromordinal(end)
    return value.start, value.end


def to_person(
    p: PersonSpec, default_tz: str, country: str | None = None, team: CheckinSpec | None = None
) -> Person:
    """A person; their own check-in settings win over their team's."""
    own = p.checkin or CheckinSpec()
    team = team or CheckinSpec()
    days = own.days or team.days
    at = own.at or team.at
    quiet = None
    if p.quiet_hours:
        start, end = (part.strip().zfill(5) for part in p.quiet_hours.split("-"))
        quiet = QuietHours(time.fromisoformat(start), time.fromisoformat(end))
    return Person(
        email=p.email,
        name=p.name,
        role=Role(p.role),
        timezone=p.timezone or default_tz,
        manager=p.manager,
        working_days=tuple(sorted(DAYS.index(d) for d in p.working_days)),
        quiet_hours=quiet,
        ids=Identities.of(p.ids),
        timezone_known=p.timezone is not None,
        country=p.country or country,
        checkin_days=tuple(sorted(DAYS.index(d) for d in days)) if days else None,
        checkin_at=time.fromisoformat(at) if at else None,
    )


def to_binding(spec: BaseModel) -> SourceBinding:
    """`{KIND: {…}}` as a binding: the role's own fields (a metric, an epic, a query in the
    kind's own language), and the kind's other options as text."""
    [(kind, options)] = [(kind, options) for kind, options in spec if options is not None]
    data = options.model_dump(exclude_none=True)
    query = data.pop(registry.query_field(type(options)), None)
    metric, epic = data.pop("metric", None), data.pop("epic", None)
    rest = tuple(sorted((k, str(v)) for k, v in data.items()))
    return SourceBinding(kind, metric=metric, epic=epic, query=query, options=rest)


def to_key_result(kr: KeyResultSpec, objective: ObjectiveSpec) -> KeyResult:
    source = SourceBinding() if isinstance(kr.source, str) else to_binding(kr.source)
    milestone = kr.kind == "milestone"
    return KeyResult(
        key=kr.id,
        objective=objective.id,
        title=kr.title,
        owner=kr.owner.lower(),
        kind=KrKind(kr.kind),
        unit=kr.unit or ("%" if milestone else ""),
        start=kr.start,
        target=kr.target if kr.target is not None else 100.0,
        quota=kr.quota,
        current=kr.current if kr.current is not None else kr.start,
        due=kr.due,
        confidence=kr.confidence,
        status=Status(kr.status),
        source=source,
        checkpoints=tuple((c.date, c.value) for c in kr.checkpoints),
    )


def to_chart(spec: OrgFileSpec) -> OrgChart:
    org = spec.organisation
    team_checkin = {m.lower(): t.checkin for t in spec.teams if t.checkin for m in t.members}
    objectives, key_results = [], []
    for o in spec.objectives:
        start, end = period(o.period)
        objectives.append(Objective(o.id, o.title, start, end, o.owner, o.team, o.parent))
        key_results += [to_key_result(kr, o) for kr in o.key_results]
    return OrgChart(
        organisation=Organisation(org.slug, org.name, org.timezone),
        people=tuple(
            to_person(p, org.timezone, org.country, team_checkin.get(p.email)) for p in spec.people
        ),
        teams=tuple(
            Team(t.name, t.manager.lower(), tuple(m.lower() for m in t.members), t.digest_channel)
            for t in spec.teams
        ),
        objectives=tuple(objectives),
        key_results=tuple(key_results),
    )
