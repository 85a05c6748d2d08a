"""Read integration sources in bulk and store what they say as snapshots."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from bot.core.breaker import Skipped, guarded
from bot.core.cadence import local_time
from bot.core.errors import AuthError, IntegrationError, TransientError
from bot.core.model import EpicFacts, KeyResult, Person, Snapshot
from bot.core.ports import CrmSource, TrackerSource
from bot.core.sources import SourceRole
from bot.core.text import amount

if TYPE_CHECKING:
    from bot.core.deps import Deps


@dataclass
class SyncReport:
    source: str
    readings: list[tuple[str, str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    calls: int = 0
    usage: tuple[int, int] | None = None
    skipped: str | None = None  # not called: its circuit breaker is open (logged once, there)

    @property
    def ok(self) -> bool:
        return not self.errors and self.skipped is None


def epic_details(epic: EpicFacts) -> dict[str, Any]:
    data = asdict(epic)
    data["due"] = epic.due.isoformat() if epic.due else None
    data["updated"] = epic.updated.isoformat() if epic.updated else None
    return data


def epic_from_details(details: dict[str, Any]) -> EpicFacts:
    data = dict(details)
    data["due"] = date.fromisoformat(data["due"]) if data.get("due") else None
    data["updated"] = datetime.fromisoformat(data["updated"]) if data.get("updated") else None
    return EpicFacts(**data)


async def sync_all(
    deps: Deps, role: SourceRole | None = None, owners: Sequence[str] | None = None
) -> list[SyncReport]:
    """Every configured source (of `role`), each in bulk; a report per source."""
    kinds = [
        k
        for k, known in deps.sources.kinds.items()
        if (role is None or known.role is role) and deps.sources.configured(k)
    ]
    return [await sync(deps, kind, owners) for kind in kinds]


async def sync(deps: Deps, kind: str, owners: Sequence[str] | None = None) -> SyncReport:
    """Read source `kind` for every key result bound to it (or only `owners`'); snapshots keyed
    by key result."""
    crm, tracker = deps.sources.crms.get(kind), deps.sources.trackers.get(kind)
    report = SyncReport(deps.sources.title(kind))
    krs = [kr for kr in await deps.directory.key_results(owners) if kr.source.kind == kind]
    if crm is not None:
        await _crm(deps, kind, crm, krs, report)
    elif tracker is not None:
        await _tracker(deps, kind, tracker, krs, report)
    return report


async def _crm(
    deps: Deps, kind: str, crm: CrmSource, krs: list[KeyResult], report: SyncReport
) -> None:
    """One CRM call per (metric, options, period) for every rep at once."""
    people = {p.email: p for p in await deps.directory.people()}
    objectives = {o.key: o for o in await deps.directory.objectives()}
    now = deps.clock.now()
    groups: dict[tuple[str, tuple[tuple[str, str], ...], date, date], list[KeyResult]] = (
        defaultdict(list)
    )
    for kr in krs:
        objective = objectives[kr.objective]
        key = (
            kr.source.metric or "",
            kr.source.options,
            objective.period_start,
            objective.period_end,
        )
        groups[key].append(kr)
    before = crm.calls
    snapshots: list[Snapshot] = []
    for (metric, options, start, end), group in groups.items():
        owners: list[Person] = [people[kr.owner] for kr in group if kr.owner in people]
        today = min(local_time(owners[0], now).date(), end) if owners else end
        try:
            figures = await guarded(
                deps,
                crm.name,
                lambda: crm.figures(metric, start, today, owners, dict(options)),  # noqa: B023
            )
        except Skipped as exc:
            report.skipped = str(exc)
            break
        except (TransientError, AuthError) as exc:
            report.errors.append(str(exc))
            break  # unreachable or refused: the other metrics would only fail the same way
        except IntegrationError as exc:
            report.errors.append(str(exc))
            continue
        by_person = {f.person: f for f in figures}
        for kr in group:
            figure = by_person.get(kr.owner)
            # No figure (no deals closed for a rate or an average yet): nothing new to tell.
            value = figure.value if figure else kr.current
            deals = [
                asdict(d) | {"closed_on": d.closed_on.isoformat()}
                for d in (figure.deals if figure else ())
            ]
            details: dict[str, object] = {
                "deals": deals,
                "period": [start.isoformat(), end.isoformat()],
            }
            if figure:
                details["measure"] = asdict(figure.measure)
            snapshots.append(Snapshot(kind, kr.key, metric, value, now, details))
            name = people[kr.owner].name if kr.owner in people else kr.owner
            report.readings.append((name, kr.title, amount(value, kr.unit)))
    await deps.snapshots.record(snapshots)
    report.calls = crm.calls - before
    report.usage = crm.usage


async def _tracker(
    deps: Deps, kind: str, tracker: TrackerSource, krs: list[KeyResult], report: SyncReport
) -> None:
    """One tracker call for every linked epic, and one per query."""
    keys = sorted({kr.source.epic for kr in krs if kr.source.epic})
    queries = sorted({kr.source.query for kr in krs if kr.source.query})
    if not keys and not queries:
        return
    before = tracker.calls

    async def read() -> dict[str, EpicFacts]:
        epics = {e.key: e for e in await tracker.epics(keys)} if keys else {}
        for text in queries:  # a query is its own search: it cannot be merged with others
            epics[text] = await tracker.query(text)
        return epics

    try:
        epics = await guarded(deps, tracker.name, read)
    except Skipped as exc:
        report.skipped = str(exc)
        return
    except IntegrationError as exc:
        report.errors.append(str(exc))
        return
    finally:
        report.calls = tracker.calls - before
    people = {p.email: p for p in await deps.directory.people()}
    owners = [people[e] for e in {kr.owner for kr in krs} if e in people]
    await link_tracker_accounts(deps, kind, tracker, owners)
    now = deps.clock.now()
    snapshots = []
    for kr in krs:
        epic = epics.get(kr.source.epic or kr.source.query or "")
        if epic is None:
            report.errors.append(f"{report.source}: epic {kr.source.epic} not found")
            continue
        snapshots.append(Snapshot(kind, kr.key, "epic", epic.open_issues, now, epic_details(epic)))
        name = people[kr.owner].name if kr.owner in people else kr.owner
        state = "done" if epic.done else f"{epic.open_issues}/{epic.total_issues} open"
        report.readings.append((name, kr.title, f"{epic.key} {epic.status}, {state}"))
    await deps.snapshots.record(snapshots)


async def readings(deps: Deps, krs: Sequence[KeyResult], role: SourceRole) -> dict[str, Snapshot]:
    """The latest reading of each of `krs` bound to a source of `role`, by key result."""
    found: dict[str, Snapshot] = {}
    for kind, bound in deps.sources.bound(krs, role).items():
        found |= await deps.snapshots.latest(kind, [kr.key for kr in bound])
    return found


async def link_tracker_accounts(
    deps: Deps, kind: str, tracker: TrackerSource, owners: list[Person]
) -> None:
    """Match key result owners to tracker accounts by email, once; the org file's id wins."""
    for person in owners:
        if person.ids.get(kind):
            continue
        try:
            account = await tracker.account(person.email)
        except IntegrationError:
            return  # matching is a nicety: a sync never fails for it
        if account:
            await deps.directory.link_identity(person.email, kind, account)
