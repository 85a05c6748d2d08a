"""Apply a person's answer once: validate, check who may do it, record it, say what happened."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

from bot.core.cadence import local_time, next_check_in
from bot.core.checkins import value_input
from bot.core.deps import Deps
from bot.core.errors import InvalidInput, NotAllowed, NotFound
from bot.core.measure import value_text
from bot.core.model import (
    Blocker,
    CheckIn,
    CheckInKind,
    CheckInState,
    KeyResult,
    Person,
    ProgressUpdate,
    Status,
    UpdateSource,
)
from bot.core.planned import NoticeText, items_of
from bot.core.ports import Applied, Change
from bot.core.prompts import ActionId, Answer, Notice, Outcome
from bot.core.rich import Rich, of, rich, said, strong
from bot.core.second_look import doubts, slip
from bot.core.text import MAX_NOTE, amount, clean, day, number, parse_number, parse_typed, shown
from bot.core.writeback import write_back

MAX_SNOOZE_DAYS = 90
ALREADY_RECORDED = Outcome(True, rich("Already recorded — nothing changed."), duplicate=True)
ALREADY_ANSWERED = Outcome(
    True, rich("This check-in was already answered — nothing changed."), duplicate=True
)
UNDOABLE = (ActionId.CONFIRM, ActionId.ADJUST, ActionId.FLAG_RISK)  # offered an Undo button
# Shown (not a duplicate): the click came from a message still showing buttons, e.g. a reminder.
EXPIRED = Outcome(False, rich("⌛ This check-in has expired — nothing changed."))


@dataclass
class Seen:
    """What a batch of answers read at once (check-ins by id, key results by key); whatever is
    missing is read on its own."""

    checkins: dict[int, CheckIn] = field(default_factory=dict)
    krs: dict[str, KeyResult] = field(default_factory=dict)


@dataclass(frozen=True)
class Planned:
    """An answer checked and turned into the change it makes, not yet applied."""

    reply: Answer
    actor: Person
    checkin: CheckIn | None
    krs: list[KeyResult]
    change: Change


async def answer(deps: Deps, reply: Answer) -> Outcome:
    """Apply `reply`; bad input or a forbidden change gives ok=False and changes nothing."""
    planned = await plan(deps, reply)
    if isinstance(planned, Outcome):
        return planned
    return await settle(deps, planned, await deps.ledger.apply(planned.change))


async def plan(
    deps: Deps,
    reply: Answer,
    *,
    inbox_id: int | None = None,
    by: Person | None = None,
    seen: Seen | None = None,
) -> Planned | Outcome:
    """Check `reply` and say what it would change (or why it changes nothing)."""
    try:
        return await _plan(deps, cleaned(reply), inbox_id, by, seen or Seen())
    except InvalidInput as exc:
        fix = rich("Please fix: ", "; ".join(exc.errors.values()))
        return Outcome(False, fix, errors=exc.errors)
    except (NotAllowed, NotFound) as exc:
        return Outcome(False, of(exc))


async def settle(deps: Deps, planned: Planned, result: Applied) -> Outcome:
    """What the person is told once the planned change was applied (or found applied)."""
    if result is Applied.DUPLICATE:
        return ALREADY_RECORDED
    if result is Applied.CLOSED:
        return ALREADY_ANSWERED
    checkin = planned.checkin
    if checkin is not None:
        deps.metrics.answered(planned.change.at - checkin.sent_at if checkin.sent_at else None)
    outcome = _outcome(planned)
    if planned.reply.action in UNDOABLE and planned.change.updates:
        outcome = replace(outcome, undo=planned.change.at.isoformat())
    return await write_back(deps, planned.reply, planned.actor, planned.krs, outcome)


def cleaned(reply: Answer) -> Answer:
    """Everything a person typed, without control characters: what every answer stores, shows
    and writes back (the one place typed text is cleaned)."""

    def tidy(text: object) -> str | None:
        return None if text is None else clean(str(text))  # a platform may send a non-string

    return replace(
        reply,
        kr=tidy(reply.kr),
        note=tidy(reply.note),
        confidence=tidy(reply.confidence),
        link=tidy(reply.link),
        values={clean(str(k)): clean(str(v)) for k, v in reply.values.items()},
    )


async def _plan(
    deps: Deps, reply: Answer, inbox_id: int | None, by: Person | None, seen: Seen
) -> Planned | Outcome:
    actor = by if by is not None and by.email == reply.actor else None
    actor = actor or await deps.directory.person(reply.actor)
    if actor is None:
        raise NotFound(
            f"I don't know {reply.actor} yet: ask your admin to add you to the org file."
        )
    checkin = await _checkin(deps, reply, actor, seen)
    if checkin is not None and checkin.state is CheckInState.EXPIRED:
        return EXPIRED
    if checkin is not None and not checkin.state.is_open:
        return ALREADY_ANSWERED
    if problem := note_problem(reply.note):
        raise InvalidInput({"note": problem})
    now = deps.clock.now()
    krs = await _targets(deps, reply, checkin, actor, seen)
    change = Change(
        reply.answer_id, now, checkin.id if checkin else None, reply.action.value, inbox_id=inbox_id
    )
    if reply.action is ActionId.CONFIRM:
        proposed = {
            i.kr: i.proposed for i in items_of(checkin.body if checkin else None) if i.proposed
        }
        updates = tuple(
            _update(kr, actor, UpdateSource.CRM_CONFIRMED, now, value=proposed[kr.key])
            for kr in krs
            if kr.key in proposed
        )
        change = replace(change, updates=updates)
    elif reply.action is ActionId.ADJUST:
        values = _values(reply, krs)
        if not reply.confirmed and (looked := _second_look(reply, krs)):
            return looked
        note = (reply.note or "").strip() or None
        change = replace(
            change,
            updates=tuple(
                _update(kr, actor, UpdateSource.MANUAL, now, value=values[kr.key], note=note)
                for kr in krs
            ),
        )
    elif reply.action is ActionId.FLAG_RISK:
        change = await _flag(deps, reply, actor, krs[0], change)
    elif reply.action is ActionId.ON_TRACK:
        kr = krs[0]
        update = _update(
            kr,
            actor,
            UpdateSource.MANUAL,
            now,
            status=Status.ON_TRACK,
            confidence=_confidence(reply),
        )
        change = replace(change, updates=(update,), resolve_blockers=(kr.key,))
    elif reply.action is ActionId.STILL_BLOCKED:  # heard from: the blocker stays open
        update = _update(krs[0], actor, UpdateSource.MANUAL, now, status=Status.AT_RISK)
        change = replace(change, updates=(update,))
    else:
        today = local_time(actor, now).date()
        change = replace(change, snooze=(actor.email, today))
    return Planned(reply, actor, checkin, krs, change)


async def _checkin(deps: Deps, reply: Answer, actor: Person, seen: Seen) -> CheckIn | None:
    if reply.checkin_id is None:
        return None
    checkin = seen.checkins.get(reply.checkin_id) or await deps.outbox.get(reply.checkin_id)
    if checkin is None or checkin.person != actor.email:
        raise NotAllowed("That check-in is not yours to answer.")
    return checkin


async def _targets(
    deps: Deps, reply: Answer, checkin: CheckIn | None, actor: Person, seen: Seen
) -> list[KeyResult]:
    if reply.kr:
        keys = [reply.kr]
    elif checkin is not None:
        keys = [i.kr for i in items_of(checkin.body)]
    else:
        keys = []
    if not keys and reply.action in (ActionId.NOT_NOW, ActionId.SNOOZE):
        return []
    if not keys:
        raise InvalidInput({"kr": "Choose a key result."})
    found = []
    for key in keys:
        kr = seen.krs.get(key) or await deps.directory.key_result(key)
        if kr is None:
            raise NotFound(f"There is no key result {key!r}.")
        if kr.owner != actor.email:
            owner = await deps.directory.person(kr.owner)
            if owner is None or owner.manager != actor.email:
                who = owner.name if owner else kr.owner
                raise NotAllowed(
                    rich(strong(kr.title), f" belongs to {who}: only they or ")
                    + "their manager can update it."
                )
        found.append(kr)
    return found


def _values(reply: Answer, krs: list[KeyResult]) -> dict[str, float]:
    errors: dict[str, str] = {}
    values: dict[str, float] = {}
    for kr in krs:
        field = value_input(kr)
        raw = _raw(reply, kr)
        try:
            value = parse_number(raw)
        except ValueError as exc:
            errors[field.name] = f"“{shown(raw)}” {exc} — try something like 412000."
            continue
        if value < 0:
            errors[field.name] = "The value can't be negative."
        elif field.maximum is not None and value > field.maximum:
            errors[field.name] = (
                f"{amount(value, kr.unit)} is out of range for “{kr.title}” "
                f"(at most {amount(field.maximum, kr.unit)})."
            )
        else:
            values[kr.key] = value
    if errors:
        raise InvalidInput(errors)
    return values


def _raw(reply: Answer, kr: KeyResult) -> str:
    """What was typed for `kr`'s value (its own field, or the one value of a typed command)."""
    return reply.values.get(value_input(kr).name, reply.values.get("value", "")).strip()


def _second_look(reply: Answer, krs: list[KeyResult]) -> Outcome | None:
    """Typed values that look like a slip, asked about before anything is applied (the answer
    comes back `confirmed` to apply them as typed); None when they look as meant."""
    asked: dict[str, tuple[KeyResult, str]] = {}
    for kr in krs:
        typed = parse_typed(_raw(reply, kr))  # read by _values already: it parses
        if found := doubts(kr, typed):
            asked[value_input(kr).name] = (kr, slip(kr, typed, found))
    if not asked:
        return None
    lines = [rich(strong(kr.title), f": {why}.") for kr, why in asked.values()]
    return Outcome(
        False,
        rich("🤔 Did you mean it? ") + rich("\n").join(lines),
        errors={name: f"{why} — did you mean it?" for name, (_, why) in asked.items()},
        second_look=True,
    )


def _confidence(reply: Answer) -> int | None:
    raw = (reply.confidence or "").strip()
    if not raw:
        return None
    try:
        value = parse_number(raw)
    except ValueError:
        raise InvalidInput(
            {"confidence": f"Confidence “{shown(raw)}” must be a number from 0 to 100."}
        ) from None
    if not 0 <= value <= 100:
        raise InvalidInput({"confidence": "Confidence must be between 0 and 100."})
    return round(value)


async def _flag(deps: Deps, reply: Answer, actor: Person, kr: KeyResult, change: Change) -> Change:
    note = (reply.note or "").strip()
    if not note:
        raise InvalidInput({"note": "Add a blocker note so your manager knows what's in the way."})
    confidence = _confidence(reply)
    now = deps.clock.now()
    update = _update(
        kr,
        actor,
        UpdateSource.TRACKER_FLAG,
        now,
        status=Status.AT_RISK,
        confidence=confidence,
        note=note,
    )
    blocker = Blocker(kr.key, kr.owner, note, now, link=reply.link)
    sure = f" (confidence {confidence}%)" if confidence is not None else ""
    link = rich("\n", reply.link) if reply.link else ""
    text = rich(f"🚩 {actor.name} flagged ", strong(kr.title), f" at risk{sure}.\nBlocker: ")
    told = await tell_manager(
        deps, actor, kr, f"blocker:{reply.answer_id}", text + said(note) + link
    )
    return replace(change, updates=(update,), blocker=blocker, notices=told)


async def tell_manager(
    deps: Deps, actor: Person, kr: KeyResult, period: str, text: Rich
) -> tuple[CheckIn, ...]:
    """A notice of `text` for the manager of `kr`'s owner, unless that manager is `actor`."""
    owner = actor if kr.owner == actor.email else await deps.directory.person(kr.owner)
    manager = owner.manager if owner else None
    if not manager or manager == actor.email:
        return ()
    notice = CheckIn(manager, CheckInKind.NOTICE, period, CheckInState.PLANNED, deps.clock.now())
    return (replace(notice, body=NoticeText(text)),)


def notices_of(checkins: tuple[CheckIn, ...]) -> tuple[Notice, ...]:
    """What queued notices say, to whom, for a channel to show beside an outcome."""
    return tuple(Notice(n.person, n.body.text) for n in checkins if isinstance(n.body, NoticeText))


def _update(kr: KeyResult, actor: Person, source: UpdateSource, at, **fields) -> ProgressUpdate:
    return ProgressUpdate(kr.key, actor.email, source, at, previous=kr.current, **fields)


def _outcome(planned: Planned) -> Outcome:
    reply, actor, change = planned.reply, planned.actor, planned.change
    notices = notices_of(change.notices)
    if change.snooze and change.snooze[1]:
        upcoming = next_check_in(actor, change.snooze[1])
        when = f" at your next check-in ({day(upcoming)})" if upcoming else " later"
        return Outcome(True, rich(f"👍 No problem — I'll ask again{when}."))
    krs = {kr.key: kr for kr in planned.krs}
    lines: list[Rich] = []
    for update in change.updates:
        kr = krs[update.kr]
        if update.value is not None:
            kr = replace(kr, current=update.value)
        if reply.action is ActionId.FLAG_RISK:
            who = "your manager has been told" if notices else "recorded"
            lines.append(rich("🚩 Flagged ", strong(kr.title), f" at risk — {who}."))
        elif reply.action is ActionId.ON_TRACK:
            lines.append(rich("👍 Noted: ", strong(kr.title), " is on track."))
        elif reply.action is ActionId.STILL_BLOCKED:
            lines.append(
                rich("🚩 Noted: ", strong(kr.title), " is still blocked — I'll ask again ")
                + "when the tracker shows something new, or in a week."
            )
        else:
            verb = "Confirmed" if update.source is UpdateSource.CRM_CONFIRMED else "Updated"
            note = rich(" Note: ", said(update.note)) if update.note else ""
            lines.append(rich(f"✅ {verb} ", strong(kr.title), f": {value_text(kr)}.") + note)
    return Outcome(True, rich("\n").join(lines), notices=notices)


def snooze_text(until: date, today: date | None = None) -> Rich:
    return rich(f"😴 Snoozed: no check-ins until {day(until, today)}.")


async def snooze(deps: Deps, email: str, until: date, answer_id: str) -> Outcome:
    """Stop check-ins for `email` until (and including) `until`, a day in the future."""
    actor = await deps.directory.person(email)
    if actor is None:
        return Outcome(False, rich(f"I don't know {email} yet: ask your admin to add you."))
    today = local_time(actor, deps.clock.now()).date()
    if until < today:
        return Outcome(
            False,
            rich(f"{day(until, today)} is in the past — pick a date from today on."),
            errors={"until": "date in the past"},
        )
    if (until - today).days > MAX_SNOOZE_DAYS:
        return Outcome(
            False,
            rich(f"Snooze for at most {MAX_SNOOZE_DAYS} days at a time."),
            errors={"until": "too far ahead"},
        )
    await deps.ledger.apply(Change(answer_id, deps.clock.now(), snooze=(actor.email, until)))
    return Outcome(True, snooze_text(until, today))


async def unsnooze(deps: Deps, email: str, answer_id: str) -> Outcome:
    """Check-ins for `email` again as usual: the snooze is cleared the way it was set."""
    actor = await deps.directory.person(email)
    if actor is None:
        return Outcome(False, rich(f"I don't know {email} yet: ask your admin to add you."))
    today = local_time(actor, deps.clock.now()).date()
    upcoming = next_check_in(actor, today)
    when = f" — the next is {day(upcoming, today)}" if upcoming else ""
    if actor.snoozed_until is None or actor.snoozed_until < today:
        return Outcome(True, rich(f"You're not snoozed: check-ins come as usual{when}."))
    await deps.ledger.apply(Change(answer_id, deps.clock.now(), snooze=(actor.email, None)))
    return Outcome(True, rich(f"⏰ Snooze off: check-ins come as usual again{when}."))


def note_problem(note: str | None) -> str | None:
    """Why a note can't be kept (too long), said to the person; None when it can."""
    if note is None or len(note) <= MAX_NOTE:
        return None
    return f"Keep the note under {number(MAX_NOTE)} characters (this one has {number(len(note))})."


def typed_problem(name: str, raw: str, kr: KeyResult | None = None) -> str | None:
    """What is wrong with one field as it is typed — `note`, `confidence` or a value of `kr`
    (the same checks an answer gets); None when it is fine."""
    if name == "note":
        return note_problem(raw)
    probe = Answer("", "", ActionId.ADJUST, confidence=raw, values={"value": raw})
    try:
        if name == "confidence":
            _confidence(probe)
        elif kr is not None:
            _values(probe, [kr])
    except InvalidInput as exc:
        return next(iter(exc.errors.values()))
    return None
