"""The digest's and roll-up's words as neutral rich text; each channel renders its own markup."""

from __future__ import annotations

from bot.core.digest import Changed, Digest, RollupNode, at_risk, flagged
from bot.core.measure import Verdict
from bot.core.rich import Rich, code, link, rich, said, strong
from bot.core.standing import QUIET, Standing
from bot.core.text import day, percent

NEEDS_ATTENTION = "Needs attention"
WHAT_CHANGED = "What changed"
ON_TRACK = "On track"
PARTICIPATION = "Participation"
NOTHING_NEEDS_ATTENTION = "Nothing needs attention."
NOTHING_CHANGED = "Nothing changed this week."
ICONS = {"off track": "⛔", "at risk": "🚩", QUIET: "⏳"}


def heading(digest: Digest) -> str:
    return f"{digest.team} digest, {day(digest.since.date())} – {day(digest.until.date())}"


def _pace(standing: Standing) -> str:
    """Its pace, unless a reason already says it is behind."""
    measured = standing.assessment.pace
    if measured is None or measured.verdict is Verdict.BEHIND:
        return ""
    return f" · {standing.pace}"


def _why(standing: Standing) -> str:
    """`at risk: overdue by 10 days; 40% confident (below 70%)`, `no recent update (…)`."""
    reasons = "; ".join(standing.reasons)
    if standing.status == QUIET:
        return reasons
    return f"{standing.status}: {reasons}" if reasons else standing.status


def attention(standing: Standing) -> Rich:
    """An exception: why, its value and pace; on a second line its latest blocker note."""
    icon = ICONS.get(standing.status, "🚩")
    line = rich(f"{icon} ", strong(standing.kr.title), f" — {standing.owner} · {_why(standing)}")
    line += f" · {standing.value}{_pace(standing)}"
    note = standing.note
    if note is None:
        return line
    times = flagged(len(standing.blockers))
    label = f"Latest blocker ({times}): " if times else "Blocker: "
    line += rich("\n    ", label, said(note.note))
    return line + (rich(" ", link(note.link, "link")) if note.link else "")


def steady(standing: Standing) -> Rich:
    """A key result on track: its value, and its pace (or, for a milestone, its confidence)."""
    kr = standing.kr
    pace = _pace(standing)
    sure = f", {kr.confidence}% confident" if kr.confidence is not None and not pace else ""
    return rich(
        "✅ ",
        strong(kr.title),
        f" — {standing.owner} · {standing.status} · {standing.value}{sure}{pace}",
    )


def goal(standing: Standing) -> Rich:
    """A person's own key result in their goals list: its value, pace and status, and why."""
    return rich(
        strong(standing.kr.title), f": {standing.value}{_pace(standing)} · {_why(standing)}"
    )


def changed(change: Changed) -> Rich:
    return rich(f"{change.who} — ", strong(change.kr), f": {change.text}")


def participation(digest: Digest) -> list[str]:
    """Who answered, of the people who could be reached; who was not asked and who could not be
    reached, apart and with the reason."""
    rate = digest.participation
    share = f" ({percent(rate)})" if rate is not None else ""
    lines = [f"{digest.answered} of {digest.asked} check-ins answered{share}"]
    if digest.no_answer:
        lines.append(f"No answer: {', '.join(digest.no_answer)}")
    if digest.skipped:
        lines.append("Not asked: " + "; ".join(f"{w} ({why})" for w, why in digest.skipped))
    if digest.unreachable:
        lines.append(
            "Not counted, could not be reached: "
            + "; ".join(f"{w} ({why})" for w, why in digest.unreachable)
        )
    return lines


def risk(node: RollupNode, *, hint: bool = False) -> Rich:
    """A key result at risk in the roll-up: whose, which team, why, its note; with `hint`, the
    command that opens its team's digest (where there is no button)."""
    team = f" ({node.team})" if node.team else ""
    line = rich("🚩 ", strong(node.title), f" — {node.owner}{team}")
    if node.reasons:
        line += f": {'; '.join(node.reasons)}"
    if node.note:
        times = flagged(node.flags)
        line += rich(f" · {times}: " if times else " · ", said(node.note))
        line += rich(" ", link(node.link, "link")) if node.link else ""
    if hint and node.team:
        line += rich(" · ", code(f"digest {node.team}"))
    return line


def teams_at_risk(nodes: tuple[RollupNode, ...]) -> list[str]:
    """The teams with a key result at risk, in the order they come, each once."""
    return list(dict.fromkeys(n.team for n in at_risk(nodes) if n.team))
