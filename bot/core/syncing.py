"""When to read the integrations: on their own interval, and just before the prompts they feed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.core.checkins import unasked
from bot.core.sync import SyncReport, sync

if TYPE_CHECKING:
    from bot.core.deps import Deps


@dataclass
class SyncSchedule:
    """`every`: full syncs apart. `fresh`: how old a due person's figures may be before the
    prompt they feed; a person is read at most once per `fresh`, so a failing source is not
    hammered every round."""

    every: timedelta = timedelta(minutes=60)
    fresh: timedelta = timedelta(minutes=15)
    last_full: dict[str, datetime] = field(default_factory=dict)
    read_at: dict[tuple[str, str], datetime] = field(default_factory=dict)


async def sync_due(deps: Deps, schedule: SyncSchedule) -> list[SyncReport]:
    """A full sync per source when its interval has passed; otherwise a sync of just the people
    about to be asked. A failure is reported, never raised: the prompt then asks by hand."""
    now = deps.clock.now()
    reports: list[SyncReport] = []
    waiting: list[str] | None = None
    for name in [kind for kind in deps.sources.kinds if deps.sources.configured(kind)]:
        last = schedule.last_full.get(name)
        if last is None or now - last >= schedule.every:
            report = await sync(deps, name, None)
            if report.skipped is None:  # a skipped source is read as soon as it may be again
                schedule.last_full[name] = now
            reports.append(report)
            continue
        waiting = await about_to_be_asked(deps, now) if waiting is None else waiting
        owners = [
            p for p in waiting if now - schedule.read_at.get((name, p), last) >= schedule.fresh
        ]
        if owners:
            report = await sync(deps, name, owners)
            if report.skipped is None:
                schedule.read_at.update({(name, p): now for p in owners})
            reports.append(report)
    return reports


async def about_to_be_asked(deps: Deps, now: datetime) -> list[str]:
    """People due now who have no check-in for the period yet (and are not to be skipped)."""
    chosen, dues = await unasked(deps, now)
    return [p.email for p in chosen if dues[p.email].skip is None]
