"""Map ORM rows to core dataclasses and back, so rows never leave storage/."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, time
from typing import Any

from sqlalchemy import Row

from bot.core.model import (
    Blocker,
    CheckIn,
    CheckInKind,
    CheckInState,
    Identities,
    KeyResult,
    KrKind,
    Objective,
    Person,
    ProgressUpdate,
    QuietHours,
    Role,
    SourceBinding,
    Status,
    Team,
    UpdateSource,
)
from bot.core.prompts import ActionId
from storage.facts import from_json
from storage.models import (
    BlockerRow,
    CheckInRow,
    IdentityRow,
    KeyResultRow,
    ObjectiveRow,
    PersonRow,
    ProgressUpdateRow,
    TeamRow,
)


def person(row: PersonRow | Row[Any], ids: Iterable[tuple[str, str]]) -> Person:
    quiet = None
    if row.quiet_start and row.quiet_end:
        quiet = QuietHours(time.fromisoformat(row.quiet_start), time.fromisoformat(row.quiet_end))
    return Person(
        email=row.email,
        name=row.name,
        role=Role(row.role),
        timezone=row.timezone,
        manager=row.manager,
        working_days=tuple(int(d) for d in row.working_days.split(",") if d),
        quiet_hours=quiet,
        snoozed_until=row.snoozed_until,
        ids=Identities(tuple(ids)),
        timezone_known=row.timezone_known,
        country=row.country,
        checkin_days=tuple(int(d) for d in row.checkin_days.split(","))
        if row.checkin_days
        else None,
        checkin_at=time.fromisoformat(row.checkin_at) if row.checkin_at else None,
    )


def person_fields(p: Person) -> dict[str, Any]:
    """Declared fields; a timezone only when given (else chat may supply it). Identities are
    rows of their own: `set_identities`."""
    zone = {"timezone": p.timezone, "timezone_known": True} if p.timezone_known else {}
    return (
        zone
        | {
            "email": p.email,
            "name": p.name,
            "role": p.role.value,
            "manager": p.manager,
            "working_days": ",".join(str(d) for d in p.working_days),
            "quiet_start": p.quiet_hours.start.strftime("%H:%M") if p.quiet_hours else None,
            "quiet_end": p.quiet_hours.end.strftime("%H:%M") if p.quiet_hours else None,
            "country": p.country,
        }
        # Only a schedule the file names: one set in chat (`goals checkin …`) is kept otherwise.
        | ({"checkin_days": ",".join(map(str, p.checkin_days))} if p.checkin_days else {})
        | ({"checkin_at": p.checkin_at.strftime("%H:%M")} if p.checkin_at else {})
    )


def set_identities(row: PersonRow, ids: Identities) -> list[str]:
    """Give the person these ids (others they have are kept); the kinds that changed."""
    have = {i.kind: i for i in row.identities}
    changed = []
    for kind, value in ids.items():
        if kind not in have:
            row.identities.append(IdentityRow(org_id=row.org_id, kind=kind, value=value))
        elif have[kind].value != value:
            have[kind].value = value
        else:
            continue
        changed.append(f"{kind} id")
    return changed


def team(row: TeamRow) -> Team:
    members = tuple(m for m in row.members.split("\n") if m)
    return Team(row.name, row.manager, members, row.digest_channel)


def team_fields(t: Team) -> dict[str, Any]:
    return {
        "name": t.name,
        "manager": t.manager,
        "members": "\n".join(t.members),
        "digest_channel": t.digest_channel,
    }


def objective(row: ObjectiveRow) -> Objective:
    return Objective(
        row.key, row.title, row.period_start, row.period_end, row.owner, row.team, row.parent
    )


def objective_fields(o: Objective) -> dict[str, Any]:
    return {
        "key": o.key,
        "title": o.title,
        "period_start": o.period_start,
        "period_end": o.period_end,
        "owner": o.owner,
        "team": o.team,
        "parent": o.parent,
    }


def key_result(row: KeyResultRow) -> KeyResult:
    return KeyResult(
        key=row.key,
        objective=row.objective,
        title=row.title,
        owner=row.owner,
        kind=KrKind(row.kind),
        unit=row.unit,
        start=row.start,
        target=row.target,
        quota=row.quota,
        current=row.current,
        due=row.due,
        confidence=row.confidence,
        status=Status(row.status),
        source=SourceBinding(
            row.source_kind,
            row.source_metric,
            row.source_epic,
            row.source_query,
            tuple(sorted((row.source_options or {}).items())),
        ),
        checkpoints=tuple((date.fromisoformat(d), float(v)) for d, v in row.checkpoints or ()),
    )


def key_result_fields(kr: KeyResult, *, with_progress: bool) -> dict[str, Any]:
    """Declared fields; progress (current, status, confidence) only when first created."""
    fields: dict[str, Any] = {
        "key": kr.key,
        "objective": kr.objective,
        "title": kr.title,
        "owner": kr.owner,
        "kind": kr.kind.value,
        "unit": kr.unit,
        "start": kr.start,
        "target": kr.target,
        "quota": kr.quota,
        "due": kr.due,
        "source_kind": kr.source.kind,
        "source_metric": kr.source.metric,
        "source_epic": kr.source.epic,
        "source_query": kr.source.query,
        "source_options": dict(kr.source.options),
        "checkpoints": [[d.isoformat(), v] for d, v in kr.checkpoints] or None,
    }
    if with_progress:
        fields |= {"current": kr.current, "status": kr.status.value, "confidence": kr.confidence}
    return fields


def checkin(row: CheckInRow) -> CheckIn:
    return CheckIn(
        person=row.person,
        kind=CheckInKind(row.kind),
        period=row.period,
        state=CheckInState(row.state),
        created_at=row.created_at,
        body=from_json(row.payload),
        id=row.id,
        message_ref=row.message_ref,
        sent_at=row.sent_at,
        reminded_at=row.reminded_at,
        closed_at=row.closed_at,
        skip_reason=row.skip_reason,
        answered_with=ActionId(row.answered_with) if row.answered_with else None,
    )


def update(row: ProgressUpdateRow) -> ProgressUpdate:
    return ProgressUpdate(
        kr=row.kr,
        actor=row.actor,
        source=UpdateSource(row.source),
        at=row.at,
        value=row.value,
        status=Status(row.status) if row.status else None,
        confidence=row.confidence,
        note=row.note,
        previous=row.previous,
    )


def blocker(row: BlockerRow) -> Blocker:
    return Blocker(row.kr, row.person, row.note, row.raised_at, row.link, row.id, row.resolved_at)
