"""The goal model: people, teams, objectives, key results, check-ins and their history."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # planned.py holds model values itself
    from bot.core.planned import Body
    from bot.core.prompts import ActionId


class Role(enum.StrEnum):
    SALES = "sales"
    ENGINEERING = "engineering"
    MANAGER = "manager"
    LEADER = "leader"


class Status(enum.StrEnum):
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    OFF_TRACK = "off_track"
    DONE = "done"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


class KrKind(enum.StrEnum):
    """How a key result's value counts: up toward a target, down toward it, a level to keep, or
    a milestone done by a date."""

    INCREASE = "increase"
    DECREASE = "decrease"
    KEEP_ABOVE = "keep_above"
    KEEP_BELOW = "keep_below"
    MILESTONE = "milestone"


MANUAL = "manual"  # the kind of a key result no source reads: it is updated by hand


class UpdateSource(enum.StrEnum):
    CRM_CONFIRMED = "crm_confirmed"
    MANUAL = "manual"
    TRACKER_FLAG = "tracker_flag"
    UNDO = "undo"  # reverts the actor's own change just before it (the ledger keeps both)


class CheckInKind(enum.StrEnum):
    CRM_CONFIRM = "crm_confirm"
    RISK_EXPLAIN = "risk_explain"
    CONFIDENCE_CHECK = "confidence_check"
    NOTICE = "notice"

    @property
    def is_prompt(self) -> bool:
        return self is not CheckInKind.NOTICE


class CheckInState(enum.StrEnum):
    PLANNED = "planned"
    SENDING = "sending"
    UNCONFIRMED = "unconfirmed"  # maybe delivered: only a lookup may send it again
    SENT = "sent"
    REMINDED = "reminded"
    ANSWERED = "answered"
    EXPIRED = "expired"
    SKIPPED = "skipped"
    FAILED = "failed"  # the platform refused it for good (e.g. the user left); reason recorded

    @property
    def is_open(self) -> bool:
        return self in (
            CheckInState.PLANNED,
            CheckInState.SENDING,
            CheckInState.UNCONFIRMED,
            CheckInState.SENT,
            CheckInState.REMINDED,
        )


@dataclass(frozen=True)
class Organisation:
    slug: str
    name: str
    timezone: str = "UTC"


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time

    def contains(self, moment: time) -> bool:
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end


@dataclass(frozen=True)
class Identities:
    """How other systems know a person: kind (e.g. a chat platform or a CRM) → their id there.

    Kinds are named at the edges that use them; the core names none."""

    pairs: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "pairs", tuple(sorted(dict(self.pairs).items())))

    @classmethod
    def of(cls, kinds: Mapping[str, str | None] | None = None, /, **more: str | None) -> Identities:
        """From a mapping (or keywords); kinds without a value are left out."""
        given = {**(kinds or {}), **more}
        return cls(tuple((k, v) for k, v in given.items() if v))

    def get(self, kind: str) -> str | None:
        return dict(self.pairs).get(kind)

    def items(self) -> tuple[tuple[str, str], ...]:
        return self.pairs

    def with_(self, kind: str, value: str) -> Identities:
        return Identities((*self.pairs, (kind, value)))

    def __bool__(self) -> bool:
        return bool(self.pairs)


@dataclass(frozen=True)
class Person:
    email: str
    name: str
    role: Role
    timezone: str = "UTC"
    manager: str | None = None
    working_days: tuple[int, ...] = (0, 1, 2, 3, 4)
    quiet_hours: QuietHours | None = None
    snoozed_until: date | None = None
    ids: Identities = field(default_factory=Identities)
    timezone_known: bool = True  # False: the organisation's default, until chat tells us better
    country: str | None = None  # ISO 3166 code, for public holidays
    checkin_days: tuple[int, ...] | None = None  # overrides the role's check-in days
    checkin_at: time | None = None  # overrides the role's check-in time

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name else self.email


@dataclass(frozen=True)
class Team:
    name: str
    manager: str
    members: tuple[str, ...] = ()
    digest_channel: str | None = None


@dataclass(frozen=True)
class Objective:
    key: str
    title: str
    period_start: date
    period_end: date
    owner: str | None = None
    team: str | None = None
    parent: str | None = None


@dataclass(frozen=True)
class SourceBinding:
    """Which source reads a key result — a kind registered at the edge, whose role (a CRM's
    metric, a tracker's epic or query) decides how — and that source's own options."""

    kind: str = MANUAL
    metric: str | None = None  # a CRM's figure
    epic: str | None = None  # a tracker's epic (or its equivalent) by key
    query: str | None = None  # a tracker's search, in its own query language
    options: tuple[tuple[str, str], ...] = ()  # e.g. (("opportunity_type", "New Business"),)

    def option(self, name: str) -> str | None:
        return dict(self.options).get(name)

    def describe(self) -> str:
        if self.kind == MANUAL:
            return MANUAL
        return f"{self.kind} {self.metric or self.epic or self.query}"


@dataclass(frozen=True)
class KeyResult:
    key: str
    objective: str
    title: str
    owner: str
    kind: KrKind = KrKind.INCREASE
    unit: str = ""
    start: float = 0.0
    target: float = 100.0
    quota: float | None = None
    current: float = 0.0
    due: date | None = None
    confidence: int | None = None
    status: Status = Status.ON_TRACK
    source: SourceBinding = field(default_factory=SourceBinding)
    checkpoints: tuple[tuple[date, float], ...] = ()  # where it should be by each day, in order

    @property
    def holds(self) -> bool | None:
        """For a keep-above or keep-below key result, whether it holds now; else None."""
        if self.kind is KrKind.KEEP_ABOVE:
            return self.current >= self.target
        if self.kind is KrKind.KEEP_BELOW:
            return self.current <= self.target
        return None

    @property
    def progress(self) -> float:
        """How much is achieved, 0.0–1.0: the share of the way from start to target (1.0 once
        done); for a level to keep, 1.0 while it holds and 0.0 while it does not."""
        if self.status is Status.DONE:
            return 1.0
        if self.holds is not None:
            return float(self.holds)
        span = self.target - self.start
        if span == 0:
            return 1.0
        return max(0.0, min(1.0, (self.current - self.start) / span))


@dataclass(frozen=True)
class ProgressUpdate:
    kr: str
    actor: str
    source: UpdateSource
    at: datetime
    value: float | None = None
    status: Status | None = None
    confidence: int | None = None
    note: str | None = None
    previous: float | None = None


@dataclass(frozen=True)
class Blocker:
    kr: str
    person: str
    note: str
    raised_at: datetime
    link: str | None = None
    id: int | None = None
    resolved_at: datetime | None = None


@dataclass(frozen=True)
class CheckIn:
    """One row of the outbox: a prompt or notice for one person, unique per kind and period."""

    person: str
    kind: CheckInKind
    period: str
    state: CheckInState
    created_at: datetime
    body: Body | None = None  # what a prompt or notice holds; None for a skipped one
    id: int | None = None
    message_ref: str | None = None
    sent_at: datetime | None = None
    reminded_at: datetime | None = None
    closed_at: datetime | None = None
    skip_reason: str | None = None
    answered_with: ActionId | None = None


class Reads(enum.StrEnum):
    """How a CRM figure is cited: deals closed ("you closed 3 deals"), things counted in the key
    result's unit ("6 demos"), or a level over the period ("your win rate at 28%")."""

    DEALS = "deals"
    COUNT = "count"
    LEVEL = "level"


@dataclass(frozen=True)
class Measure:
    """What a CRM figure is, as data from the source: the core words it."""

    reads: Reads = Reads.DEALS
    noun: str = ""  # "new opportunities", "win rate"; empty: the key result's unit
    scope: str = ""  # what a level is taken over: "deals won"


@dataclass(frozen=True)
class CrmFigure:
    """What the CRM says one person achieved for one metric over one period."""

    person: str
    metric: str
    value: float
    deals: tuple[Deal, ...] = ()
    measure: Measure = Measure()


@dataclass(frozen=True)
class Deal:
    name: str
    amount: float
    closed_on: date
    link: str | None = None


@dataclass(frozen=True)
class EpicFacts:
    """What the tracker says about one epic."""

    key: str
    title: str
    status: str
    done: bool
    due: date | None
    open_issues: int
    total_issues: int
    flagged: bool = False
    updated: datetime | None = None
    link: str | None = None
    blocked: bool = False  # the tracker's own statuses for "blocked", mapped at its edge


@dataclass(frozen=True)
class Snapshot:
    """A stored reading from an integration: one metric for one subject, when it was seen."""

    source: str
    subject: str
    metric: str
    value: float
    seen_at: datetime
    details: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class OrgChart:
    """Everything the org file declares, as one value."""

    organisation: Organisation
    people: tuple[Person, ...] = ()
    teams: tuple[Team, ...] = ()
    objectives: tuple[Objective, ...] = ()
    key_results: tuple[KeyResult, ...] = ()
