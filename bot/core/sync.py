"""Read integration sources in bulk and store what they say as snapshots."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from bot.core.breaker import Skipped, guarded
from bot.core.cadence import local_time
from bot.core.errors import IntegrationError, TransientError
from bot.core.model import EpicFacts, KeyResult, Person, Snapshot, SourceKind
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


async def sync_crm(deps: Deps, owners: Sequence[str] | None = None) -> SyncReport:
    """One CRM call per (metric, period) for every rep at once (or only `owners`' key results);
    snapshots keyed by key result."""
    report = SyncReport(deps.crm.name if deps.crm else "crm")
    if deps.crm is None:
        return report
    krs = [
        kr
        for kr in await deps.directory.key_results(owners)
        if kr.source.kind is SourceKind.SALESFORCE
    ]
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
    crm = deps.crm
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
        except TransientError as exc:
            report.errors.append(str(exc))
            break  # unreachable: the other metrics would only wait for the same timeout
        except IntegrationError as exc:
            report.errors.append(str(exc))
            continue
        by_person = {f.person: f for f in figures}
        for kr in group:
            figure = by_person.get(kr.owner)
            value = figure.value if figure else 0.0
            deals = [
                asdict(d) | {"closed_on": d.closed_on.isoformat()}
                for d in (figure.deals if figure else ())
            ]
            snapshots.append(Snapshot(deps.crm.name, kr.key, metric, value, now, {"deals": deals}))
            name = people[kr.owner].name if kr.owner in people else kr.owner
            report.readings.append((name, kr.title, amount(value, kr.unit)))
    await deps.snapshots.record(snapshots)
    report.calls = crm.calls - before
    report.usage = crm.usage
    return report


async def sync_tracker(deps: Deps, owners: Sequence[str] | None = None) -> SyncReport:
    """One tracker call for every linked epic (or only `owners`'); snapshots keyed by key result."""
    report = SyncReport(deps.tracker.name if deps.tracker else "tracker")
    if deps.tracker is None:
        return report
    krs = [
        kr for kr in await deps.directory.key_results(owners) if kr.source.kind is SourceKind.JIRA
    ]
    keys = sorted({kr.source.epic for kr in krs if kr.source.epic})
    queries = sorted({kr.source.jql for kr in krs if kr.source.jql})
    if not keys and not queries:
        return report
    tracker = deps.tracker
    before = tracker.calls

    async def read() -> dict[str, EpicFacts]:
        epics = {e.key: e for e in await tracker.epics(keys)} if keys else {}
        for jql in queries:  # a query is its own search: it cannot be merged with others
            epics[jql] = await tracker.query(jql)
        return epics

    try:
        epics = await guarded(deps, tracker.name, read)
    except Skipped as exc:
        report.skipped = str(exc)
        return report
    except IntegrationError as exc:
        report.errors.append(str(exc))
        return report
    finally:
        report.calls = tracker.calls - before
    people = {p.email: p for p in await deps.directory.people()}
    owners = sorted({(str(kr.source.kind), kr.owner) for kr in krs})  # the source's kind: its ids
    await link_tracker_accounts(deps, [(kind, people[e]) for kind, e in owners if e in people])
    now = deps.clock.now()
    snapshots = []
    for kr in krs:
        epic = epics.get(kr.source.epic or kr.source.jql or "")
        if epic is None:
            report.errors.append(f"{report.source}: epic {kr.source.epic} not found")
            continue
        snapshots.append(
            Snapshot(report.source, kr.key, "epic", epic.open_issues, now, epic_details(epic))
        )
        name = people[kr.owner].name if kr.owner in people else kr.owner
        state = "done" if epic.done else f"{epic.open_issues}/{epic.total_issues} open"
        report.readings.append((name, kr.title, f"{epic.key} {epic.status}, {state}"))
    await deps.snapshots.record(snapshots)
    return report


async def link_tracker_accounts(deps: Deps, owners: list[tuple[str, Person]]) -> None:
    """Match key result owners to their accounts in the tracker of that kind by email, once; the
    org file's id wins."""
    assert deps.tracker is not None
    for kind, person in owners:
        if person.ids.get(kind):
            continue
        try:
            account = await deps.tracker.account(person.email)
        except IntegrationError:
            return  # matching is a nicety: a sync never fails for it
        if account:
            await deps.directory.link_identity(person.email, kind, account)
