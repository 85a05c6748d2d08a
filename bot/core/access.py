"""Who may see what: reads are checked like writes, before anything is rendered."""

from __future__ import annotations

from bot.core.deps import Deps
from bot.core.errors import NotAllowed, NotFound
from bot.core.model import CheckIn, KeyResult, Person, Role

NOT_YOURS = "That is not yours to see: only its owner, their manager or a leader can."


async def may_see_person(deps: Deps, viewer: Person, subject: str) -> bool:
    """The person themself, anyone above them in the management chain, or a leader."""
    if viewer.email == subject or viewer.role is Role.LEADER:
        return True
    seen: set[str] = set()
    current = await deps.directory.person(subject)
    while current is not None and current.manager and current.manager not in seen:
        if current.manager == viewer.email:
            return True
        seen.add(current.manager)
        current = await deps.directory.person(current.manager)
    return False


async def key_result_for(deps: Deps, viewer: Person, key: str) -> KeyResult:
    """The key result `key`, if the viewer may see it; else NotFound / NotAllowed."""
    kr = await deps.directory.key_result(key)
    if kr is None:
        raise NotFound(f"There is no key result {key!r}.")
    if not await may_see_person(deps, viewer, kr.owner):
        raise NotAllowed(NOT_YOURS)
    return kr


async def checkin_for(deps: Deps, viewer: Person, checkin_id: int) -> CheckIn:
    """A check-in is seen only by the person it was sent to (it carries their numbers)."""
    row = await deps.outbox.get(checkin_id)
    if row is None:
        raise NotFound("That check-in no longer exists.")
    if row.person != viewer.email:
        raise NotAllowed("That check-in is not yours to answer.")
    return row


async def check_team(deps: Deps, viewer: Person, team_name: str) -> None:
    """A team's details: its manager (or anyone above them) and leaders."""
    teams = {t.name.lower(): t for t in await deps.directory.teams()}
    team = teams.get(team_name.lower())
    if team is None:
        raise NotFound(f"There is no team {team_name!r}.")
    if viewer.email != team.manager and not await may_see_person(deps, viewer, team.manager):
        raise NotAllowed(f"Only {team.name}'s manager or a leader can read its details.")
