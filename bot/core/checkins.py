"""Plan check-ins into the outbox, turn outbox rows into prompts, remind once, then expire."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core import memory, playbooks, sync, wording
from bot.core.cadence import Due, due, local_time
from bot.core.deps import Deps
from bot.core.model import CheckIn, CheckInKind, CheckInState, KeyResult, Person, Role
from bot.core.planned import PromptFacts, Shown, StillBlocked, TrackerShowed, items_of
from bot.core.prompts import Action, ActionId, Input, InputKind, Prompt, PromptItem
from bot.core.sources import SourceRole
from bot.core.text import MAX_NOTE
from bot.core.wording import Words

STALE_READING = timedelta(days=1)
UNREACHABLE = "could not be reached: "  # how the digest shows someone the platform refused


@dataclass(frozen=True)
class PlanResult:
    planned: tuple[CheckIn, ...] = ()
    skipped: tuple[CheckIn, ...] = ()
    quiet: tuple[str, ...] = ()


async def unasked(
    deps: Deps, now: datetime, *, people: Sequence[str] | None = None, force: bool = False
) -> tuple[list[Person], dict[str, Due]]:
    """Everyone due now (of `people`, if given) with no prompt yet for the period, and when each
    is due. Most rounds, most of those due were already asked or skipped: only the rest need
    their key results, history and readings read."""
    holiday = deps.holidays.name if deps.holidays else None
    everyone = await deps.directory.people()
    dues = {
        p.email: when
        for p in everyone
        if (people is None or p.email in people)
        and (when := due(p, now, force=force, holiday=holiday)) is not None
    }
    have = await deps.outbox.prompted(sorted({w.period for w in dues.values()})) if dues else set()
    chosen = [
        p for p in everyone if p.email in dues and (p.email, dues[p.email].period) not in have
    ]
    return chosen, dues


async def plan(
    deps: Deps, *, people: Sequence[str] | None = None, force: bool = False
) -> PlanResult:
    """Write an outbox row for everyone due now; never two for the same person and period."""
    now = deps.clock.now()
    planned: list[CheckIn] = []
    skipped: list[CheckIn] = []
    quiet: list[str] = []
    chosen, dues = await unasked(deps, now, people=people, force=force)
    krs = await deps.directory.key_results([p.email for p in chosen]) if chosen else []
    history = {kr.key: await deps.ledger.history(kr.key) for kr in krs}
    # A reading older than a day means the last syncs failed: ask by hand rather than guess.
    # One of a source no longer configured is never cited as current.
    readings = {
        key: reading
        for key, reading in (await sync.readings(deps, krs, SourceRole.CRM)).items()
        if reading.seen_at >= now - STALE_READING and deps.sources.configured(reading.source)
    }
    epics = {
        key: reading
        for key, reading in (await sync.readings(deps, krs, SourceRole.TRACKER)).items()
        if deps.sources.configured(reading.source)
    }
    builders = {p.email for p in chosen if p.role is not Role.SALES}
    flags = await memory.flagged(deps, [kr for kr in krs if kr.owner in builders], history, epics)
    fresh = deps.timing.sync_every
    for person in chosen:
        when = dues[person.email]
        mine = [kr for kr in krs if kr.owner == person.email]
        reason = when.skip
        if reason is None and await deps.outbox.open_prompt(person.email):
            continue
        if reason is None and deps.reachability is not None:
            refused = await deps.reachability.unreachable(person)
            reason = UNREACHABLE + refused if refused else None
        if reason is None and deps.availability is not None and not force:
            reason = await deps.availability.away(person)
        if reason:
            row = CheckIn(
                person.email,
                _kind(person),
                when.period,
                CheckInState.SKIPPED,
                now,
                skip_reason=reason,
            )
            if added := await deps.outbox.add(row):
                skipped.append(added)
            continue
        if person.role is Role.SALES:
            last = {
                key: local_time(person, updates[-1].at).date()
                for key, updates in history.items()
                if updates
            }
            previous = await deps.outbox.latest(
                person.email, CheckInKind.CRM_CONFIRM, CheckInState.ANSWERED
            )
            answered = previous is not None and previous.answered_with in (
                ActionId.CONFIRM,
                ActionId.ADJUST,
            )
            seen = {
                i.kr: i.proposed
                for i in (items_of(previous.body) if previous and answered else ())
                if i.proposed is not None
            }
            decided = playbooks.sales(
                person, mine, readings, last, seen, deps.sources, now=now, fresh=fresh
            )
        else:
            decided = playbooks.engineering(
                person,
                mine,
                epics,
                when.local.date(),
                deps.risk,
                deps.sources,
                now=now,
                fresh=fresh,
                flags=flags,
            )
        if decided is None:
            quiet.append(person.email)
            continue
        row = CheckIn(
            person.email,
            decided.kind,
            when.period,
            CheckInState.PLANNED,
            now,
            body=decided.body,
        )
        if added := await deps.outbox.add(row):
            planned.append(added)
    deps.metrics.prompts("planned", len(planned))
    for row in skipped:
        deps.metrics.prompts("skipped", reason=row.skip_reason)
    return PlanResult(tuple(planned), tuple(skipped), tuple(quiet))


def _kind(person: Person) -> CheckInKind:
    return CheckInKind.CRM_CONFIRM if person.role is Role.SALES else CheckInKind.RISK_EXPLAIN


def actions_for(
    ids: Sequence[ActionId], items: Sequence[PromptItem], blocker: str | None = None
) -> tuple[Action, ...]:
    """The buttons of a prompt, with the inputs each one asks for; about an open `blocker`
    (its note), flagging updates the note and "on track" says it is unblocked."""
    kr_choice = Input(
        "kr",
        "Key result",
        InputKind.CHOICE,
        required=True,
        choices=tuple((i.kr, i.title) for i in items),
        initial=items[0].kr if items else None,
    )
    made = {
        ActionId.CONFIRM: Action(ActionId.CONFIRM, "Yes, update", "primary"),
        ActionId.ADJUST: Action(
            ActionId.ADJUST,
            "Adjust…",
            inputs=(
                *(value_input(i) for i in items),
                Input("note", "Note (optional)", InputKind.TEXT, max_length=MAX_NOTE),
            ),
        ),
        ActionId.NOT_NOW: Action(ActionId.NOT_NOW, "Not now"),
        ActionId.FLAG_RISK: Action(
            ActionId.FLAG_RISK,
            "Update the note…" if blocker else "Flag at risk…",
            "danger",
            inputs=(
                kr_choice,
                Input(
                    "note",
                    "Blocker note for your manager",
                    InputKind.TEXT,
                    required=True,
                    initial=blocker,
                    max_length=MAX_NOTE,
                ),
                Input(
                    "confidence",
                    "Confidence it lands on time (0–100)",
                    InputKind.NUMBER,
                    unit="%",
                    minimum=0,
                    maximum=100,
                ),
                Input("write_back", "Also flag the epic in the tracker", InputKind.TOGGLE),
            ),
        ),
        ActionId.ON_TRACK: Action(
            ActionId.ON_TRACK, "Unblocked" if blocker else "It's on track", "primary"
        ),
        ActionId.SNOOZE: Action(ActionId.SNOOZE, "Snooze"),
        ActionId.STILL_BLOCKED: Action(ActionId.STILL_BLOCKED, "Still blocked"),
    }
    return tuple(made[i] for i in ids)


def value_input(item: PromptItem | KeyResult) -> Input:
    key = item.kr if isinstance(item, PromptItem) else item.key
    # ten times the larger end: a decrease starts above its target (a 90-day cycle cut to 75)
    maximum = 100.0 if item.unit == "%" else max(item.target * 10, item.start * 10, 1.0)
    initial = getattr(item, "proposed", None)
    return Input(
        f"value:{key}",
        f"{item.title} ({item.unit})" if item.unit else item.title,
        InputKind.NUMBER,
        required=True,
        unit=item.unit,
        minimum=0,
        maximum=maximum,
        initial=str(initial if initial is not None else item.current),
    )


def prompt_for(
    checkin: CheckIn,
    krs: dict[str, KeyResult] | None = None,
    render: Callable[[Shown | None, tuple[PromptItem, ...]], Words] = wording.words,
) -> Prompt:
    """The prompt an outbox row stands for, its words written now by `render` from the facts
    planned (current values refreshed when given)."""
    body = checkin.body
    items = []
    for entry in items_of(body):
        if krs and entry.kr in krs:
            kr = krs[entry.kr]
            entry = playbooks.item(kr, entry.proposed)
        items.append(entry)
    shown = body.shown if isinstance(body, PromptFacts) else None
    said = render(shown, tuple(items))
    blocker = shown.blocker if isinstance(shown, TrackerShowed) else None
    blocker = shown.note if isinstance(shown, StillBlocked) else blocker
    assert checkin.id is not None
    return Prompt(
        checkin_id=checkin.id,
        person=checkin.person,
        kind=checkin.kind.value,
        headline=said.headline,
        question=said.question,
        items=tuple(items),
        actions=actions_for(body.actions if isinstance(body, PromptFacts) else (), items, blocker),
        reminder=checkin.state is CheckInState.REMINDED,
        links=said.links,
    )
