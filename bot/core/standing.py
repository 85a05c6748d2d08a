"""Where each key result stands on a day: its assessment, its open blockers, its silence."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.core import measure
from bot.core.deps import Deps
from bot.core.model import Blocker, CheckIn, CheckInState, KeyResult, Person, Status
from bot.core.planned import items_of
from bot.core.text import day, percent

QUIET = "no recent update"
SERIOUS = (Status.OFF_TRACK, Status.AT_RISK)


@dataclass(frozen=True)
class Standing:
    """One key result as a manager reads it on `today`."""

    kr: KeyResult
    owner: str  # the owner's name
    assessment: measure.Assessment
    blockers: tuple[Blocker, ...] = ()  # open, oldest first
    heard_on: date | None = None
    unanswered: bool = False  # the owner's last prompt about it expired unanswered

    @property
    def exception(self) -> bool:
        return self.assessment.exception

    @property
    def status(self) -> str:
        """`at risk`, `off track`, `no recent update` (never "on track" for a silent one)."""
        status = self.assessment.status
        if self.assessment.quiet and status not in SERIOUS:
            return QUIET
        return status.label

    @property
    def reasons(self) -> tuple[str, ...]:
        """Why it is an exception, most serious first; silence last."""
        if not self.assessment.quiet:
            return self.assessment.reasons
        if self.unanswered:
            why = "the last check-in expired unanswered"
        elif self.heard_on:
            why = f"last heard {day(self.heard_on)}"
        else:
            why = "nothing heard this period"
        return (*self.assessment.reasons, f"{QUIET} ({why})")

    @property
    def value(self) -> str:
        """Its value as its kind reads; a milestone past due leaves the due date to its reasons
        ("overdue by 10 days"), never "due 13 Nov"."""
        if self.assessment.overdue_days:
            return percent(self.kr.progress)
        return measure.value_text(self.kr)

    @property
    def pace(self) -> str | None:
        measured = self.assessment.pace
        return measure.pace_text(measured, self.kr.unit) if measured else None

    @property
    def note(self) -> Blocker | None:
        """The latest open blocker."""
        return self.blockers[-1] if self.blockers else None

    @property
    def rank(self) -> int:
        """Exceptions first, the most serious first: off track, at risk, silent; then the rest."""
        status = self.assessment.status
        return SERIOUS.index(status) if status in SERIOUS else 2 if self.exception else 3


async def standings(
    deps: Deps,
    krs: Sequence[KeyResult],
    *,
    zone: str,
    since: datetime,
    names: dict[str, str] | None = None,
    policy: measure.Policy | None = None,
) -> list[Standing]:
    """Each key result's standing today in `zone`; prompts since `since` tell which went
    unanswered. Reads the objectives, the last word on each key result, open blockers and the
    window's prompts once for all of them."""
    tz = ZoneInfo(zone)
    now = deps.clock.now()
    today = now.astimezone(tz).date()
    periods = {o.key: (o.period_start, o.period_end) for o in await deps.directory.objectives()}
    heard = await deps.ledger.last_heard([kr.key for kr in krs])
    blockers: dict[str, list[Blocker]] = {}
    for blocker in await deps.ledger.open_blockers():
        blockers.setdefault(blocker.kr, []).append(blocker)
    asked = last_asked(await deps.outbox.between(since, now))
    found = []
    for kr in krs:
        last = heard.get(kr.key)
        prompt = asked.get((kr.owner, kr.key))
        unanswered = (
            prompt is not None
            and prompt.state is CheckInState.EXPIRED
            and (last is None or last < prompt.created_at)
        )
        heard_on = last.astimezone(tz).date() if last else None
        assessment = measure.assess(
            kr,
            periods.get(kr.objective),
            today,
            heard_on=heard_on,
            unanswered=unanswered,
            policy=policy,
        )
        owner = (names or {}).get(kr.owner, kr.owner)
        mine = tuple(blockers.get(kr.key, ()))
        found.append(Standing(kr, owner, assessment, mine, heard_on, unanswered))
    return found


async def of_person(
    deps: Deps, person: Person, policy: measure.Policy | None = None
) -> list[Standing]:
    """The person's own key results as they stand today in their zone."""
    krs = await deps.directory.key_results([person.email])
    window = timedelta(days=(policy or measure.Policy()).quiet_days)
    names = {person.email: person.name}
    since = deps.clock.now() - window
    return await standings(deps, krs, zone=person.timezone, since=since, names=names, policy=policy)


def last_asked(rows: Sequence[CheckIn]) -> dict[tuple[str, str], CheckIn]:
    """Each (person, key result)'s latest prompt among `rows`."""
    latest: dict[tuple[str, str], CheckIn] = {}
    for row in sorted(rows, key=lambda r: r.created_at):
        if row.kind.is_prompt:
            for item in items_of(row.body):
                latest[(row.person, item.kr)] = row
    return latest
