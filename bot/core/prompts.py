"""Platform-neutral prompts, the answers people give to them, and the outcomes shown back."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from bot.core.rich import Rich


class ActionId(enum.StrEnum):
    CONFIRM = "confirm"
    ADJUST = "adjust"
    NOT_NOW = "not_now"
    FLAG_RISK = "flag_risk"
    ON_TRACK = "on_track"
    SNOOZE = "snooze"
    STILL_BLOCKED = "still_blocked"  # a flagged key result's blocker is still there


class InputKind(enum.StrEnum):
    NUMBER = "number"
    TEXT = "text"
    CHOICE = "choice"
    TOGGLE = "toggle"


@dataclass(frozen=True)
class Input:
    """A field a person fills in after choosing an action (a modal field, a card input)."""

    name: str
    label: str
    kind: InputKind = InputKind.TEXT
    required: bool = False
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    initial: str | None = None
    choices: tuple[tuple[str, str], ...] = ()
    max_length: int | None = None  # characters, for text the platform can cap as it is typed


@dataclass(frozen=True)
class Action:
    id: ActionId
    label: str
    style: str = "default"
    inputs: tuple[Input, ...] = ()


@dataclass(frozen=True)
class PromptItem:
    """One key result a prompt asks about, with the value the source proposes."""

    kr: str
    title: str
    unit: str
    current: float
    target: float
    proposed: float | None = None
    start: float = 0.0
    quota: float | None = None  # a sales quota, shown beside the target


@dataclass(frozen=True)
class Prompt:
    """A message to one person: what we know, what we ask, and what they can answer."""

    checkin_id: int
    person: str
    kind: str
    headline: Rich
    facts: tuple[Rich, ...] = ()
    question: Rich = field(default_factory=Rich)
    items: tuple[PromptItem, ...] = ()
    actions: tuple[Action, ...] = ()
    reminder: bool = False
    links: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Answer:
    """A person's reply, whatever the platform: applied once per `answer_id`."""

    answer_id: str
    actor: str
    action: ActionId
    checkin_id: int | None = None
    kr: str | None = None
    values: dict[str, str] = field(default_factory=dict)
    note: str | None = None
    confidence: str | None = None
    link: str | None = None
    write_back: bool = False
    confirmed: bool = False  # a value that asked for a second look, confirmed: applied as is


@dataclass(frozen=True)
class Said:
    """A command typed to the bot that changes something (`snooze until …`, `checkin …`)."""

    answer_id: str
    actor: str
    text: str


def from_form(
    answer_id: str,
    actor: str,
    action: ActionId,
    fields: Mapping[str, str],
    *,
    checkin_id: int | None = None,
    kr: str | None = None,
    link: str | None = None,
) -> Answer:
    """A filled-in form (Slack modal, Teams card, terminal) as an answer: its `kr`, `note`,
    `confidence` and `write_back` fields, and the rest as values; `kr` where the form has
    none."""
    rest = dict(fields)
    return Answer(
        answer_id,
        actor,
        action,
        checkin_id=checkin_id,
        kr=rest.pop("kr", None) or kr,
        note=rest.pop("note", None),
        confidence=rest.pop("confidence", None) or None,
        link=rest.pop("link", None) or link,
        write_back=rest.pop("write_back", "") == "yes",
        confirmed=rest.pop("confirmed", "") == "yes",
        values=rest,
    )


@dataclass(frozen=True)
class Notice:
    """A message the core wants someone else to receive (e.g. a manager told of a blocker)."""

    to: str
    text: Rich


@dataclass(frozen=True)
class Outcome:
    """What answering did, shown in place of the prompt."""

    ok: bool
    text: Rich
    errors: dict[str, str] = field(default_factory=dict)
    notices: tuple[Notice, ...] = ()
    duplicate: bool = False
    second_look: bool = False  # nothing applied: the value looks like a slip, to confirm or edit
    undo: str | None = None  # the change it made, for an Undo button (`undo <this>`)
    # Work left for after the ack (a tracker write-back); it gives the outcome to show instead.
    pending: Callable[[], Awaitable[Outcome]] | None = field(default=None, compare=False)
