"""The terminal channel: prompts, outcomes and digests as plain text."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from itertools import count

from bot.core import digest_words as words
from bot.core.cadence import local_time
from bot.core.digest import Digest, RollupNode, at_risk
from bot.core.model import Person
from bot.core.ports import Clock
from bot.core.prompts import Outcome, Prompt
from bot.core.rich import Rich, Span, Style, of, render
from bot.core.text import bar, percent


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
    """Needs attention, what changed, on track, participation: in the order a manager acts."""
    where = f" → {digest.channel}" if digest.channel else ""
    lines = [f"📊 {words.heading(digest)} (for {digest.manager}{where})"]

    def section(title: str, items: list[Rich], empty: str = "") -> None:
        if items or empty:
            lines.append(f"{title}:" if items else f"{title}: {empty}")
        lines.extend(f"  {line}" for item in items for line in plain(item).splitlines())

    section(
        words.NEEDS_ATTENTION,
        [words.attention(s) for s in digest.exceptions],
        words.NOTHING_NEEDS_ATTENTION,
    )
    section(words.WHAT_CHANGED, [words.changed(c) for c in digest.changes], words.NOTHING_CHANGED)
    section(words.ON_TRACK, [words.steady(s) for s in digest.rest])
    section(words.PARTICIPATION, [of(line) for line in words.participation(digest)])
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


def render_risks(nodes: tuple[RollupNode, ...]) -> list[str]:
    """The roll-up's key results at risk, each with its note, team and the command to open that
    team's digest."""
    found = at_risk(nodes)
    if not found:
        return []
    return ["At risk:", *(f"  {plain(words.risk(n, hint=True))}" for n in found)]


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
        lines = ["🏢 Company roll-up", *render_rollup(nodes), *render_risks(nodes)]
        return self._block(person, lines)
