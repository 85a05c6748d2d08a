"""What a planned check-in holds: the facts a playbook saw and what it offers, never its words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from bot.core.model import Deal, EpicFacts, KrKind, Reads
from bot.core.prompts import ActionId, PromptItem
from bot.core.rich import Rich


@dataclass(frozen=True)
class Unreached:
    """The CRM could not be read: the person is asked for the number by hand."""

    source: str  # the source's name, as it was called when planned
    connected: bool = True  # False: no source of that kind is configured, so none was read


@dataclass(frozen=True)
class CrmShowed:
    """New figures in the CRM, and the deals behind the first change if it listed any."""

    source: str
    since: date | None = None  # the day of the last update; None when there was none
    count: int = 0  # deals closed since then
    total: float = 0.0  # their amount
    currency: str = "$"
    deals: tuple[Deal, ...] = ()  # the newest of them, to list
    more: int = 0  # changed key results left for a later prompt (playbooks.MAX_ITEMS)
    reads: Reads = Reads.DEALS  # what the first changed figure is: deals, a count, a level
    noun: str = ""  # what it counts or measures ("win rate"); empty: the key result's unit
    scope: str = ""  # what a level is taken over ("deals won")
    period: tuple[date, date] | None = None  # the period the figure covers
    seen_at: datetime | None = None  # when the CRM was read, in the person's zone
    stale: bool = False  # read longer ago than the sync interval: cited "as of" then


@dataclass(frozen=True)
class TrackerShowed:
    """Risk the tracker shows on the work behind the first key result."""

    source: str
    epic: EpicFacts
    on: date  # the person's day it was seen: "due in 4 days" counts from it
    signals: tuple[str, ...] = ()  # risk.signals codes, most serious first
    by_query: bool = False  # the key result follows a query, not one epic
    seen_at: datetime | None = None  # when the tracker was read, in the person's zone
    stale: bool = False  # read longer ago than the sync interval: `on` is the day it was read
    blocker: str | None = None  # the key result's open blocker (its note): asked about, not flagged


@dataclass(frozen=True)
class WeeklyCheck:
    """Nothing to explain: a light check — a milestone's confidence, another kind's value."""

    confidence: int | None = None  # what the person said last
    kr_kind: KrKind = KrKind.MILESTONE  # the key result's kind: what the check asks for


@dataclass(frozen=True)
class StillBlocked:
    """A key result flagged at risk: asked what changed about its blocker, not "on track?"."""

    note: str  # the open blocker's note
    flagged_on: date  # the person's day of the flag


Shown = Unreached | CrmShowed | TrackerShowed | WeeklyCheck | StillBlocked


@dataclass(frozen=True)
class PromptFacts:
    """A prompt as planned: the key results it asks about, what the source showed, the answers
    offered. Its words are written when it is sent (wording.words)."""

    items: tuple[PromptItem, ...] = ()
    actions: tuple[ActionId, ...] = ()
    shown: Shown | None = None  # None: a closed prompt from before facts were kept


@dataclass(frozen=True)
class NoticeText:
    """A one-off message to someone (a manager told of a blocker): its text is kept as is."""

    text: Rich


Body = PromptFacts | NoticeText


def items_of(body: Body | None) -> tuple[PromptItem, ...]:
    return body.items if isinstance(body, PromptFacts) else ()
