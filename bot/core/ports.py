"""The protocols the core talks through: repositories, integration sources and the clock."""

from __future__ import annotations

import enum
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol

from bot.core.model import (
    Blocker,
    CheckIn,
    CheckInKind,
    CheckInState,
    CrmFigure,
    EpicFacts,
    KeyResult,
    Objective,
    Organisation,
    OrgChart,
    Person,
    ProgressUpdate,
    Snapshot,
    Team,
)
from bot.core.prompts import Answer, Outcome, Said


class Clock(Protocol):
    def now(self) -> datetime:
        """The current moment, timezone-aware (UTC)."""
        ...


class Directory(Protocol):
    """Who works here and what they aim for."""

    async def person(self, email: str) -> Person | None: ...
    async def person_by_identity(self, kind: str, value: str) -> Person | None: ...
    async def people_by_identity(self, kind: str, values: Sequence[str]) -> dict[str, Person]:
        """Those of `values` that are someone's `kind` identity, each with its person."""
        ...

    async def people(self, emails: Sequence[str] | None = None) -> list[Person]: ...
    async def teams(self) -> list[Team]: ...
    async def objectives(self) -> list[Objective]: ...
    async def key_results(
        self, owners: Sequence[str] | None = None, keys: Sequence[str] | None = None
    ) -> list[KeyResult]: ...
    async def key_result(self, key: str) -> KeyResult | None: ...
    async def import_chart(self, chart: OrgChart) -> ImportReport: ...
    async def link_identity(
        self, email: str, kind: str, value: str, timezone: str | None = None
    ) -> None: ...
    async def export_chart(self) -> OrgChart: ...
    async def organisation(self) -> Organisation:
        """The organisation; NotSetUp when none is imported yet."""
        ...

    async def staffed(self) -> bool:
        """Whether anyone has been imported into the organisation yet."""
        ...


@dataclass(frozen=True)
class ImportReport:
    created: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)


class Outbox(Protocol):
    """Check-ins and notices, each unique on (person, kind, period)."""

    async def add(self, checkin: CheckIn) -> CheckIn | None:
        """Store a new row; None when one already exists for the same key."""
        ...

    async def get(self, checkin_id: int) -> CheckIn | None: ...
    async def get_many(self, checkin_ids: Sequence[int]) -> dict[int, CheckIn]: ...
    async def open_prompt(self, person: str) -> CheckIn | None: ...
    async def latest(
        self, person: str, kind: CheckInKind, state: CheckInState
    ) -> CheckIn | None: ...
    async def claim(self, limit: int, now: datetime) -> list[CheckIn]: ...
    async def mark_sent(self, checkin_id: int, message_ref: str | None, at: datetime) -> None: ...
    async def mark_sent_many(self, sent: Sequence[tuple[int, str | None]], at: datetime) -> None:
        """Record many sends (check-in id, message reference) in one transaction."""
        ...

    async def release(self, checkin_ids: Sequence[int], at: datetime) -> None:
        """Claimed (or unconfirmed) rows that could not be sent this time, or that a lookup
        found were not delivered: planned again, for the next round."""
        ...

    async def unconfirm(self, checkin_ids: Sequence[int]) -> None:
        """Claimed rows the platform may have delivered: kept from any resend until a lookup
        of the platform's own history settles them (their claim time is kept)."""
        ...

    async def fail(self, checkin_id: int, reason: str, at: datetime) -> None:
        """A claimed row the platform refused for good: closed as failed, with the reason."""
        ...

    async def in_state(
        self, state: CheckInState, before: datetime | None = None
    ) -> list[CheckIn]: ...
    async def depth(self) -> int:
        """How many rows wait to be sent."""
        ...

    async def prompted(self, periods: Sequence[str]) -> set[tuple[str, str]]:
        """(person, period) of every prompt row, in any state, for these periods."""
        ...

    async def transition(
        self, checkin_id: int, old: CheckInState, new: CheckInState, at: datetime
    ) -> bool: ...
    async def between(self, start: datetime, end: datetime) -> list[CheckIn]: ...


# How long an applied event id is remembered. Chat platforms redeliver within minutes (the
# latest retry about 5 minutes on); a day is far beyond any of them. Check-in answers stay
# once-only for good: an answered check-in is closed.
PROCESSED_KEPT = timedelta(hours=24)


class Applied(enum.StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    CLOSED = "closed"


@dataclass(frozen=True)
class Change:
    """Everything one answer writes, applied in one transaction or not at all."""

    event_id: str
    at: datetime
    checkin_id: int | None = None
    action: str | None = None
    updates: tuple[ProgressUpdate, ...] = ()
    blocker: Blocker | None = None
    resolve_blockers: tuple[str, ...] = ()
    snooze: tuple[str, date | None] | None = None  # None: the snooze is cleared
    checkin: tuple[str, tuple[int, ...] | None, time | None] | None = None  # email, days, at
    notices: tuple[CheckIn, ...] = field(default_factory=tuple)
    inbox_id: int | None = None  # the inbox row this answer came from: marked applied with it


@dataclass(frozen=True)
class Inbound:
    """One delivery from a platform, parsed at the edge; `key` is the platform's own id for it."""

    key: str
    platform: str
    user: str  # the sender's id on that platform; the edge resolves it to a person
    answer: Answer | Said  # its `actor` is filled in when the sender is resolved
    received_at: datetime
    reply_to: str | None = None  # where the edge shows the outcome; opaque to the core
    id: int | None = None
    outcome: Outcome | None = None  # set once applied, until shown


class Inbox(Protocol):
    """Durable inbound answers, unique per organisation and key."""

    async def put(self, item: Inbound, hold: timedelta | None = None) -> int | None:
        """Record it: its row's id, or None when the same key was recorded before (a retry, a
        double click). `hold`: the row is the caller's to apply for that long (no worker claims
        it meanwhile)."""
        ...

    async def ready(self) -> None:
        """Make the first `put` as quick as the rest (connections opened, ids read)."""
        ...

    async def claim(
        self,
        limit: int,
        now: datetime,
        lease: timedelta,
        key: str | None = None,
        platforms: Collection[str] | None = None,
    ) -> list[Inbound]:
        """Rows to apply or show (only the one of `key`, or of `platforms`, if given), each
        claimed by one worker (of any process) until `lease`."""
        ...

    async def settle(self, outcomes: Sequence[tuple[int, Outcome]], at: datetime) -> None:
        """Applied (or answered without a change), not shown yet: what to show, should the
        showing fail or the process die first (then it is shown again, the same)."""
        ...

    async def shown(self, item_ids: Sequence[int], at: datetime) -> None:
        """Shown, and so applied (if the change did not mark it already)."""
        ...

    async def forget(self, before: datetime) -> int:
        """Drop applied rows received before `before`; how many."""
        ...

    async def pending(self) -> int: ...


class Ledger(Protocol):
    """The append-only history of progress and blockers."""

    async def apply(self, change: Change) -> Applied: ...
    async def apply_all(self, changes: Sequence[Change]) -> list[Applied]:
        """Each change whole or not at all, in order, committed together where they can be."""
        ...

    async def forget_processed(self, before: datetime) -> int:
        """Forget applied event ids recorded before `before`; how many were forgotten."""
        ...

    async def updates_since(self, since: datetime | None) -> list[ProgressUpdate]: ...
    async def history(self, kr: str) -> list[ProgressUpdate]: ...
    async def last_heard(self, krs: Sequence[str]) -> dict[str, datetime]:
        """When each key result was last updated or answered about; absent if never."""
        ...

    async def open_blockers(self) -> list[Blocker]: ...


class Availability(Protocol):
    """Whether a chat platform says someone is away (a status like "On vacation")."""

    async def away(self, person: Person) -> str | None:
        """Why the person is away, or None."""
        ...


class Reachability(Protocol):
    """Whether a chat platform refuses to take messages for someone (they blocked the bot or
    removed it, or an admin disabled it) until they come back."""

    async def unreachable(self, person: Person) -> str | None:
        """Why the person cannot be reached, or None."""
        ...


class Holidays(Protocol):
    def name(self, country: str, day: date) -> str | None:
        """The public holiday on `day` in `country`, if any."""
        ...


class Conversations(Protocol):
    """Stored conversation references (JSON), so proactive messages survive restarts."""

    async def save(
        self, platform: str, key: str, reference: dict[str, Any], at: datetime
    ) -> None: ...

    async def get(self, platform: str, key: str) -> dict[str, Any] | None: ...


class Snapshots(Protocol):
    """Readings from integrations, newest wins."""

    async def record(self, snapshots: Sequence[Snapshot]) -> None: ...
    async def latest(self, source: str, subjects: Sequence[str]) -> dict[str, Snapshot]: ...
    async def first_since(self, source: str, subject: str, at: datetime) -> Snapshot | None: ...


class Digests(Protocol):
    async def last_posted(self, team: str) -> datetime | None: ...
    async def record_posted(self, team: str, at: datetime) -> None: ...


class CrmSource(Protocol):
    """A CRM read in bulk: one call per metric and period for many people."""

    name: str
    calls: int  # API calls made so far
    usage: tuple[int, int] | None  # (used, allowed) API requests, when the CRM reports it

    async def figures(
        self,
        metric: str,
        start: date,
        end: date,
        people: Sequence[Person],
        options: dict[str, str] | None = None,
    ) -> list[CrmFigure]: ...


class TrackerSource(Protocol):
    """An issue tracker read in bulk: every linked epic in one call."""

    name: str
    calls: int

    async def epics(self, keys: Sequence[str]) -> list[EpicFacts]: ...

    async def account(self, email: str) -> str | None:
        """The tracker's id for a person, found by email (None when not exactly one match)."""
        ...

    async def query(self, text: str) -> EpicFacts:
        """The issues a query in the tracker's own language matches, summed up as one epic-like
        reading."""
        ...

    async def flag(self, key: str, note: str, who: str) -> None:
        """Comment with the blocker note and mark the epic as an impediment."""
        ...

    async def unflag(self, key: str) -> None: ...


class Metrics(Protocol):
    """What happens to prompts, counted for `/metrics` (nothing outside `serve`)."""

    def prompts(self, outcome: str, count: int = 1, reason: str | None = None) -> None:
        """`outcome`: planned, sent, failed, skipped (with `reason`), reminded, expired."""
        ...

    def answered(self, latency: timedelta | None) -> None:
        """A prompt answered, `latency` after it was sent."""
        ...

    def circuit(self, source: str, event: str) -> None:
        """A source's circuit breaker: `event` is opened, skipped (a call not made) or closed."""
        ...
