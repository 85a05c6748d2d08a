"""`goalnudge chat --as EMAIL`: talk to the bot in a terminal, as that person."""

from __future__ import annotations

import shlex
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace

from bot.channels.console import plain, render_digest, render_prompt, render_risks, render_rollup
from bot.core import checkins, commands, digest, standing, which
from bot.core import digest_words as words
from bot.core.answers import answer, typed_problem
from bot.core.deps import Deps
from bot.core.errors import GoalnudgeError
from bot.core.model import CheckInKind, CheckInState, KeyResult, Person, Role
from bot.core.planned import NoticeText
from bot.core.prompts import ActionId, Answer, Input, InputKind, Outcome, from_form
from bot.core.rich import Rich, of, rich
from bot.core.text import number, parse_number
from bot.core.writeback import settled

HELP = """Commands:
  goals, my goals            my key results
  prompt                     show my open check-in (answer with its number: 1, 2, …)
  update KR VALUE [NOTE]     set a key result's value, e.g. update arr-alice 412000 signed Initech,
                             or in words: update my arr to 400k
  flag KR [NOTE]             flag a key result at risk with a blocker note for your manager
  digest [TEAM]              my team's digest (managers; leaders get the company roll-up)
  snooze until YYYY-MM-DD    no check-ins until that date; also snooze 3 days, snooze until friday
  unsnooze                   check-ins as usual again
  checkin [on DAYS] [at T]   see or move my check-ins, e.g. checkin on mon-thu at 17:00; reset
  undo                       take back my last update or flag (within 24 hours)
  history [KR] [since DATE]  who changed my key results (or a report's), when and why
  hi, help (or ?), quit
When I ask you something: help explains it, cancel or stop (or an empty line, or Ctrl-D)
stops and changes nothing."""

Read = Callable[[str], str | None]
Check = Callable[[str], str | None]
CANCEL = frozenset({"cancel", "stop", "quit", "exit"})
SKIP = "skip"  # leaves an optional field out
KEEP = "ok"  # keeps the value a field shows


class Cancelled(Exception):
    """The person stopped at a question: nothing changes."""


@dataclass
class Chat:
    deps: Deps
    me: Person
    read: Read
    write: Callable[[str], None]

    def say(self, text: str | Rich) -> None:
        for line in plain(of(text)).splitlines() or [""]:
            self.write(f"goalnudge: {line}")

    async def run(self) -> None:
        self.say(f"Hi {self.me.first_name}! Type `help` (or `?`) for what I can do.")
        await self.inbox()
        await self.show_prompt(quiet=True)
        while (line := self.read("> ")) is not None:
            words = line.strip()
            if words in ("quit", "exit"):
                break
            if words:
                try:
                    await self.handle(words)
                except Cancelled:
                    self.say("Cancelled — nothing changed.")
                except GoalnudgeError as exc:
                    self.say(str(exc))
        self.say("Bye!")

    def ask(
        self,
        question: str,
        check: Check,
        hint: str,
        *,
        optional: bool = False,
        keep: str = "",
        kept: str = "",
    ) -> str:
        """One field, asked until what is typed passes `check`; help, skip and keep as said."""
        while True:
            raw = self.read(question)
            typed = (raw or "").strip()
            if typed.lower() in CANCEL or not typed:
                raise Cancelled
            if typed.lower() in ("help", "?"):
                extra = f" `{SKIP}` leaves it out." if optional else ""
                extra += f" `{KEEP}` keeps {kept or keep}." if keep else ""
                self.say(f"{hint}{extra} `cancel` (or an empty line) stops: nothing changes.")
            elif optional and typed.lower() == SKIP:
                return ""
            elif keep and typed.lower() == KEEP:
                return keep
            elif problem := check(typed):
                self.say(problem)
            else:
                return typed

    async def inbox(self) -> None:
        """Console delivery: notices waiting for me are shown when I open the chat."""
        for row in await self.deps.outbox.in_state(CheckInState.PLANNED):
            if row.person == self.me.email and row.kind is CheckInKind.NOTICE and row.id:
                now = self.deps.clock.now()
                if await self.deps.outbox.transition(
                    row.id, CheckInState.PLANNED, CheckInState.SENT, now
                ):
                    self.say(row.body.text if isinstance(row.body, NoticeText) else "")

    async def handle(self, line: str) -> None:
        try:
            command, *args = shlex.split(line)
        except ValueError:
            command, *args = line.split()
        verb = command.lower()
        if verb.isdigit():
            await self.choose(int(verb))
        elif verb in ("update", "set") and args:
            await self.update(args)
        elif verb == "flag" and args:
            await self.flag(args)
        elif verb == "prompt":
            await self.show_prompt()
        elif verb == "digest":
            await self.digest(" ".join(args) or None)
        else:
            await self.typed(line)

    async def typed(self, line: str) -> None:
        """The words Slack and Teams understand too, read by the same parser."""
        command = commands.parse(line)
        if command.name == "help":
            self.say(HELP)
        elif command.name == "hello":
            self.say(f"Hi {self.me.first_name}! Here is what I can do:\n{HELP}")
        elif command.name == "goals":
            await self.goals()
        else:
            self.say((await commands.run(self.deps, self.me, line, self.new_id())).text)

    async def mine(self) -> list[KeyResult]:
        return await self.deps.directory.key_results([self.me.email])

    async def kr_named(self, names: tuple[str, ...]) -> KeyResult | None:
        """The key result `names` mean (any by its exact id, else one of mine); None when
        there is none or several, after saying so."""
        if len(names) == 1 and (kr := await self.deps.directory.key_result(names[0])):
            return kr
        found = which.choose(names, await self.mine())
        if isinstance(found, Rich):
            self.say(found)
            return None
        return found

    async def update(self, args: list[str]) -> None:
        typed = which.update_words(args)
        kr = await self.kr_named(typed.names)
        if kr is None:
            return
        value = typed.value or ""
        problem = typed_problem("value", value, kr) if value else None
        if problem or not value:
            if problem:
                self.say(problem)
            value = self.ask(
                f"New value for “{kr.title}”: ",
                lambda raw: typed_problem("value", raw, kr),
                f"The value of “{kr.title}” now, e.g. 412000, 400k or 1.5m.",
            )
        values = {"value": value}
        await self.reply(
            Answer(
                self.new_id(),
                self.me.email,
                ActionId.ADJUST,
                kr=kr.key,
                values=values,
                note=typed.note,
            )
        )

    async def flag(self, args: list[str]) -> None:
        kr = await self.kr_named(which.meaningful(args[:1]))
        if kr is None:
            return
        note = " ".join(args[1:])
        if problem := typed_problem("note", note):
            self.say(problem)
            note = ""
        confidence = self.ask(
            "Confidence it lands on time (0–100, or skip): ",
            lambda raw: typed_problem("confidence", raw),
            f"How sure you are, from 0 to 100, that “{kr.title}” lands on time.",
            optional=True,
        )
        note = note or self.ask(
            "Blocker note for your manager: ",
            lambda raw: typed_problem("note", raw),
            "A few words for your manager on what is in the way.",
        )
        await self.reply(
            Answer(
                self.new_id(),
                self.me.email,
                ActionId.FLAG_RISK,
                kr=kr.key,
                note=note,
                confidence=confidence or None,
            )
        )

    def new_id(self) -> str:
        return f"chat-{uuid.uuid4()}"

    async def goals(self) -> None:
        goals = await standing.of_person(self.deps, self.me)
        if not goals:
            self.say("You have no key results yet.")
        for goal in goals:
            self.say(rich(f"[{goal.kr.key}] ", words.goal(goal)))

    async def show_prompt(self, *, quiet: bool = False) -> None:
        row = await self.deps.outbox.open_prompt(self.me.email)
        if row is None:
            if not quiet:
                self.say("No open check-in right now.")
            return
        krs = {kr.key: kr for kr in await self.deps.directory.key_results([self.me.email])}
        self.say("\n".join(render_prompt(checkins.prompt_for(row, krs))))

    async def choose(self, number: int) -> None:
        row = await self.deps.outbox.open_prompt(self.me.email)
        if row is None or row.id is None:
            self.say("No open check-in right now.")
            return
        prompt = checkins.prompt_for(row)
        if not 1 <= number <= len(prompt.actions):
            self.say(f"Choose 1 to {len(prompt.actions)}.")
            return
        action = prompt.actions[number - 1]
        filled = {field.name: await self.fill(field) for field in action.inputs}
        await self.reply(
            from_form(self.new_id(), self.me.email, action.id, filled, checkin_id=row.id)
        )

    async def fill(self, field: Input) -> str:
        """One field of a check-in's form, checked as it is typed."""
        kr = None
        if field.name.startswith("value:"):
            kr = await self.deps.directory.key_result(field.name.removeprefix("value:"))
        choices = dict(field.choices)

        def check(raw: str) -> str | None:
            if field.kind is InputKind.CHOICE:
                return None if raw in choices else f"Choose 1 to {len(choices)}."
            if field.kind is InputKind.TOGGLE:
                return None if raw.lower() in ("y", "yes", "n", "no") else "Answer y or n."
            if kr is not None:
                return typed_problem("value", raw, kr)
            return typed_problem(field.name, raw)

        def picked(raw: str) -> str:  # a choice by its number
            if raw.isdigit() and 0 < int(raw) <= len(field.choices):
                return field.choices[int(raw) - 1][0]
            return raw

        hint = field.label + (f" — one of: {', '.join(choices.values())}." if choices else ".")
        raw = self.ask(
            self.question(field),
            lambda typed: check(picked(typed)),
            hint,
            optional=not field.required and field.kind is not InputKind.TOGGLE,
            keep=field.initial or "",
            kept=self.shown(field),
        )
        if field.kind is InputKind.TOGGLE:
            return "yes" if raw.lower() in ("y", "yes") else ""
        return picked(raw)

    @staticmethod
    def shown(field: Input) -> str:
        """A field's value as a person reads it (300,000, not 300000.0)."""
        if field.kind is InputKind.NUMBER and field.initial:
            return number(parse_number(field.initial))
        return field.initial or ""

    @staticmethod
    def question(field: Input) -> str:
        keep = f"; {KEEP} keeps {Chat.shown(field)}" if field.initial else ""
        if field.kind is InputKind.CHOICE:
            options = ", ".join(f"{i}) {title}" for i, (_k, title) in enumerate(field.choices, 1))
            return f"{field.label} [{options}{keep}]: "
        if field.kind is InputKind.TOGGLE:
            return f"{field.label} (y/n): "
        if not field.required:
            return f"{field.label} [{SKIP} leaves it out{keep}]: "
        return f"{field.label}{f' [{keep[2:]}]' if keep else ''}: "

    async def reply(self, reply: Answer) -> None:
        outcome: Outcome = await settled(await answer(self.deps, reply))
        self.say(outcome.text)
        if outcome.second_look:  # nothing applied yet: applied as typed only on a yes
            sure = (self.read("Save it anyway? (yes/no) ") or "").strip().lower()
            if sure in ("y", "yes"):
                await self.reply(replace(reply, confirmed=True))
            else:
                self.say("Nothing changed — type the value again to fix it.")

    async def digest(self, team: str | None) -> None:
        if team is None and self.me.role is Role.LEADER:
            nodes = await digest.rollup(self.deps)
            self.say("\n".join(["Company roll-up:", *render_rollup(nodes), *render_risks(nodes)]))
            return
        if team is None:
            mine = [t.name for t in await self.deps.directory.teams() if t.manager == self.me.email]
            if not mine:
                self.say("Digests are for managers: you don't manage a team.")
                return
            team = mine[0]
        composed = await digest.compose(self.deps, team, viewer=self.me.email)
        self.say("\n".join(render_digest(composed)))
