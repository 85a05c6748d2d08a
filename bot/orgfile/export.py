"""Write an OrgChart back as an org file that imports to the same state."""

from __future__ import annotations

from typing import Any

import yaml

from bot.core.model import KeyResult, KrKind, OrgChart, Person
from bot.orgfile.schema import DAYS
from integrations import registry


def _person(p: Person) -> dict[str, Any]:
    data: dict[str, Any] = {"email": p.email, "name": p.name, "role": p.role.value}
    if p.timezone_known:
        data["timezone"] = p.timezone
    if p.manager:
        data["manager"] = p.manager
    if p.working_days != (0, 1, 2, 3, 4):
        data["working_days"] = [DAYS[d] for d in p.working_days]
    if p.quiet_hours:
        data["quiet_hours"] = f"{p.quiet_hours.start:%H:%M}-{p.quiet_hours.end:%H:%M}"
    if p.country:
        data["country"] = p.country
    checkin: dict[str, Any] = {}
    if p.checkin_days:
        checkin["days"] = [DAYS[d] for d in p.checkin_days]
    if p.checkin_at:
        checkin["at"] = f"{p.checkin_at:%H:%M}"
    if checkin:
        data["checkin"] = checkin
    if p.ids:
        data["ids"] = dict(p.ids.items())
    return data


def _key_result(kr: KeyResult) -> dict[str, Any]:
    data: dict[str, Any] = {"id": kr.key, "title": kr.title, "owner": kr.owner}
    if kr.kind is not KrKind.INCREASE:
        data["kind"] = kr.kind.value
    if kr.due is not None:
        data["due"] = kr.due
    data |= {"unit": kr.unit, "start": kr.start, "target": kr.target}
    if kr.quota is not None:
        data["quota"] = kr.quota
    if kr.checkpoints:
        data["checkpoints"] = [{"date": d, "value": v} for d, v in kr.checkpoints]
    data["current"] = kr.current
    if kr.confidence is not None:
        data["confidence"] = kr.confidence
    data["status"] = kr.status.value
    model = registry.binding_model(kr.source.kind)
    if model is not None:
        b = kr.source
        own = {"metric": b.metric, "epic": b.epic, registry.query_field(model): b.query}
        data["source"] = {b.kind: {k: v for k, v in own.items() if v} | dict(b.options)}
    return data


def dump(chart: OrgChart) -> str:
    org = chart.organisation
    doc: dict[str, Any] = {
        "organisation": {"slug": org.slug, "name": org.name, "timezone": org.timezone},
        "people": [_person(p) for p in chart.people],
        "teams": [
            {"name": t.name, "manager": t.manager, "members": list(t.members)}
            | ({"digest_channel": t.digest_channel} if t.digest_channel else {})
            for t in chart.teams
        ],
        "objectives": [
            {
                "id": o.key,
                "title": o.title,
                "period": {"start": o.period_start, "end": o.period_end},
            }
            | {k: v for k, v in (("owner", o.owner), ("team", o.team), ("parent", o.parent)) if v}
            | {
                "key_results": [
                    _key_result(kr) for kr in chart.key_results if kr.objective == o.key
                ]
            }
            for o in chart.objectives
        ],
    }
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)
