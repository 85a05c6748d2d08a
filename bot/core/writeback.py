"""Tell the tracker what an answer did: a flag written back, or a flag cleared."""

from __future__ import annotations

from dataclasses import replace

from bot.core.deps import Deps
from bot.core.errors import IntegrationError
from bot.core.model import KeyResult, Person
from bot.core.prompts import ActionId, Answer, Outcome


async def write_back(
    deps: Deps, reply: Answer, actor: Person, krs: list[KeyResult], outcome: Outcome
) -> Outcome:
    """Tell the tracker (when asked to, or when a flag is cleared); a failure is reported and
    the answer itself stands."""
    flagging = reply.action is ActionId.FLAG_RISK and reply.write_back
    if deps.tracker is None or not (flagging or reply.action is ActionId.ON_TRACK):
        return outcome
    epics = [kr.source.epic for kr in krs if kr.source.epic]
    if not flagging:  # clear only what the tracker last showed as flagged
        seen = await deps.snapshots.latest(deps.tracker.name, [kr.key for kr in krs])
        flagged = {str(s.details["key"]) for s in seen.values() if s.details.get("flagged")}
        epics = [epic for epic in epics if epic in flagged]
    if not epics:
        return outcome
    try:
        for epic in epics:
            if flagging:
                await deps.tracker.flag(epic, reply.note or "", actor.name)
            else:
                await deps.tracker.unflag(epic)
    except IntegrationError as exc:
        what = "flag" if flagging else "clear the flag on"
        return replace(
            outcome,
            text=f"{outcome.text}\n⚠️ I couldn't {what} {epics[0]} in "
            f"{deps.tracker.name} just now ({exc}); everything else is saved.",
        )
    done = "flagged" if flagging else "cleared the flag on"
    return replace(
        outcome, text=f"{outcome.text}\n🔗 Also {done} {epics[0]} in {deps.tracker.name}."
    )
