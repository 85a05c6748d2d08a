"""The collaborators every use case takes, as one frozen value."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.core.breaker import Breakers
from bot.core.jobs import Jobs
from bot.core.ports import (
    Availability,
    Clock,
    Digests,
    Directory,
    Holidays,
    Inbox,
    Ledger,
    Metrics,
    Outbox,
    Reachability,
    Snapshots,
)
from bot.core.risk import RiskPolicy
from bot.core.sources import Sources


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class FixedClock:
    """A clock that moves only when told to (demo, tests)."""

    moment: datetime

    def now(self) -> datetime:
        return self.moment

    def set(self, moment: datetime) -> None:
        self.moment = moment.astimezone(UTC)


@dataclass(frozen=True)
class Timing:
    reminder_after: timedelta | None = timedelta(hours=4)
    expire_after: timedelta = timedelta(hours=20)
    sync_every: timedelta = timedelta(minutes=60)  # a reading older is cited with its day


class NoMetrics:
    def prompts(self, outcome: str, count: int = 1, reason: str | None = None) -> None:
        pass

    def answered(self, latency: timedelta | None) -> None:
        pass

    def circuit(self, source: str, event: str) -> None:
        pass


@dataclass(frozen=True)
class Deps:
    directory: Directory
    outbox: Outbox
    ledger: Ledger
    snapshots: Snapshots
    digests: Digests
    clock: Clock = field(default_factory=SystemClock)
    sources: Sources = field(default_factory=Sources)
    risk: RiskPolicy = field(default_factory=RiskPolicy)
    holidays: Holidays | None = None
    availability: Availability | None = None
    reachability: Reachability | None = None
    timing: Timing = field(default_factory=Timing)
    metrics: Metrics = field(default_factory=NoMetrics)
    inbox: Inbox | None = None  # answers recorded before the ack (serve); None: applied inline
    breakers: Breakers = field(default_factory=Breakers)
    jobs: Jobs = field(default_factory=Jobs)
