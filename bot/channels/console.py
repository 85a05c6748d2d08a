"""The terminal channel: prompts, outcomes and digests as plain text."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from itertools import count

from bot.core.cadence import local_time
from bot.core.digest import Digest, RollupNode
from bot.core.model import Person
from bot.core.ports import Clock
from bot.core.prompts import Outcome, Prompt
from bot.core.rich import Rich, Span, Style, render
from bot.core.text import bar, day, percent


def plain(text: Rich) -> str:
    """Rich text for a terminal: strong words “quoted”, commands in backticks, links as
    `label <url>`; nothing a terminal would show as stray markup."""
    return render(text, _span)


def _span(span: Span) -> str:
    if span.style is Style.STRONG:
        return f"“{span.text}”"
    if span.style is Style.CODE:
        return f"`{span.text}`"
    if span.style is Style.LINK:
        return f"{span.text} <{span.url}>" if span.text != span.url else f"<{span.url}>"
    return span.text


def render_prompt(prompt: Prompt) -> list[str]:
    lines = ["⏰ Reminder — still waiting on this one:"] if prompt.reminder else []
    lines += [plain(prompt.headline), *map(plain, prompt.facts)]
    lines += plain(prompt.question).splitlines()
    lines += [f"   · {label}" + (f" <{url}>" if url else "") for label, url in prompt.links]
    lines.append("   ".join(f"[{i}] {a.label}" for i, a in enumerate(prompt.actions, 1)))
    return lines


def render_digest(digest: Digest) -> list[str]:
    where = f" → {digest.channel}" if digest.channel else ""
    lines = [
        f"📊 {digest.team} digest, {day(digest.since.date())} – {day(digest.until.date())}"
        f" (for {digest.manager}{where})",
        "Key results:",
    ]
    width = max((len(line.title) for line in digest.lines), default=0)
    for line in digest.lines:
        flag = " 🚩" if line.status.value == "at_risk" else ""
        lines.append(
            f"  {bar(line.progress)} {percent(line.progress):>4}  {line.title:<{width}}  "
            f"{line.owner} · {line.value}{flag}"
        )
    lines.append("What changed:" if digest.changes else "What changed: nothing this week.")
    lines += [f"  • {c.who} — {c.kr}: {c.text}" for c in digest.changes]
    if digest.risks:
        lines.append("At risk:")
        for r in digest.risks:
            sure = f", {r.confidence}% confident" if r.confidence is not None else ""
            link = f" ({r.link})" if r.link else ""
            lines.append(f"  🚩 {r.kr} ({r.who}{sure}): {r.note}{link}")
    if digest.no_answer:
        lines.append(f"No answer: {', '.join(digest.no_answer)}")
    if digest.skipped:
        lines.append("Skipped: " + "; ".join(f"{who} ({why})" for who, why in digest.skipped))
    rate = digest.participation
    share = f" ({percent(rate)})" if rate is not None else ""
    lines.append(f"Participation: {digest.answered} of {digest.asked} check-ins answered{share}")
    return lines


def render_rollup(nodes: tuple[RollupNode, ...], depth: int = 0) -> list[str]:
    lines = []
    for node in nodes:
        risk = f"  🚩 {node.at_risk} at risk" if node.at_risk and node.children else ""
        risk = risk or ("  🚩 at risk" if node.at_risk else "")
        lines.append(
            f"{'   ' * depth}{bar(node.progress)} {percent(node.progress):>4}  {node.title}{risk}"
        )
        lines += render_rollup(node.children, depth + 1)
    return lines


class ConsoleChannel:
    """Writes every message as a transcript block; message refs are simple counters."""

    def __init__(self, write: Callable[[str], None], clock: Clock) -> None:
        self.write = write
        self.clock = clock
        self.ids = count(1)

    def _block(self, person: Person, lines: list[str], where: str = "DM") -> str:
        stamp = local_time(person, self.clock.now()).strftime("%a %H:%M %Z")
        self.write(f"goalnudge → {person.name} ({where}, {stamp})")
        for line in lines:
            self.write(f"  │ {line}")
        return f"console:{next(self.ids)}"

    async def send(self, person: Person, prompt: Prompt) -> str | None:
        return self._block(person, render_prompt(prompt))

    async def find(self, person: Person, checkin: int, since: datetime) -> str | None:
        return None

    async def notify(self, person: Person, text: Rich, checkin: int | None = None) -> str | None:
        return self._block(person, plain(text).splitlines())

    async def replace(self, person: Person, message_ref: str | None, outcome: Outcome) -> None:
        where = f"updates message {message_ref}" if message_ref else "DM"
        self._block(person, plain(outcome.text).splitlines(), where)

    async def post_digest(self, digest: Digest) -> str | None:
        self.write(f"goalnudge → {digest.channel or digest.manager}")
        for line in render_digest(digest):
            self.write(f"  │ {line}")
        return f"console:{next(self.ids)}"

    async def post_rollup(self, person: Person, nodes: tuple[RollupNode, ...]) -> str | None:
        return self._block(person, ["🏢 Company roll-up", *render_rollup(nodes)])
