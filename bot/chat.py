"""`goalnudge chat --as EMAIL`: talk to the bot in a terminal, as that person."""

from __future__ import annotations

import shlex
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date

from bot.channels.console import plain, render_digest, render_prompt, render_risks, render_rollup
from bot.core import checkins, commands, digest, standing
from bot.core import digest_words as words
from bot.core.answers import answer, snooze
from bot.core.deps import Deps
from bot.core.errors import GoalnudgeError
from bot.core.model import CheckInKind, CheckInState, Person, Role
from bot.core.planned import NoticeText
from bot.core.prompts import Action, ActionId, Answer, Input, InputKind, Outcome, from_form
from bot.core.rich import Rich, of, rich
from bot.core.writeback import settled

HELP = """Commands:
  goals                      my key results
  prompt                     show my open check-in (answer with its number: 1, 2, …)
  update KR VALUE [NOTE]     set a key result's value, e.g. update arr-alice 412000 signed Initech
  flag KR NOTE               flag a key result at risk with a blocker note for your manager
  digest [TEAM]              my team's digest (managers; leaders get the company roll-up)
  snooze until YYYY-MM-DD    no check-ins until that date
  checkin [on DAYS] [at T]   see or move my check-ins, e.g. checkin on mon-thu at 17:00; reset
  undo                       take back my last update or flag (within 24 hours)
  history [KR] [since DATE]  who changed my key results (or a report's), when and why
  help, quit"""

Read = Callable[[str], str | None]


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
        self.say(f"Hi {self.me.first_name}! Type `help` for what I can do.")
        await self.inbox()
        await self.show_prompt(quiet=True)
        while (line := self.read("> ")) is not None:
            words = line.strip()
            if words in ("quit", "exit"):
                break
            if words:
                try:
                    await self.handle(words)
                except GoalnudgeError as exc:
                    self.say(str(exc))
        self.say("Bye!")

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
        command = command.lower()
        if command == "help":
            self.say(HELP)
        elif command == "goals":
            await self.goals()
        elif command == "prompt":
            await self.show_prompt()
        elif command.isdigit():
            await self.choose(int(command))
        elif command == "update" and len(args) >= 2:
            await self.reply(
                Answer(
                    self.new_id(),
                    self.me.email,
                    ActionId.ADJUST,
                    kr=args[0],
                    values={"value": args[1]},
                    note=" ".join(args[2:]) or None,
                )
            )
        elif command == "flag" and len(args) >= 2:
            confidence = self.read("Confidence it lands on time (0–100, Enter to skip): ")
            await self.reply(
                Answer(
                    self.new_id(),
                    self.me.email,
                    ActionId.FLAG_RISK,
                    kr=args[0],
                    note=" ".join(args[1:]),
                    confidence=confidence or None,
                )
            )
        elif command == "digest":
            await self.digest(" ".join(args) or None)
        elif command == "snooze" and len(args) == 2 and args[0] == "until":
            await self.snooze(args[1])
        elif command in ("checkin", "check-in", "schedule", "undo", "history"):
            self.say((await commands.run(self.deps, self.me, line, self.new_id())).text)
        else:
            self.say(f"I didn't understand “{line}” — type `help` for the commands.")

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
        filled = self.fill(action)
        if filled is None:
            self.say("Cancelled — nothing changed.")
            return
        await self.reply(
            from_form(self.new_id(), self.me.email, action.id, filled, checkin_id=row.id)
        )

    def fill(self, action: Action) -> dict[str, str] | None:
        values: dict[str, str] = {}
        for field in action.inputs:
            raw = self.read(self.question(field))
            if raw is None:
                return None
            raw = raw.strip() or (field.initial or "")
            if field.kind is InputKind.CHOICE and raw.isdigit() and field.choices:
                index = int(raw) - 1
                raw = field.choices[index][0] if 0 <= index < len(field.choices) else raw
            if field.kind is InputKind.TOGGLE:
                raw = "yes" if raw.lower() in ("y", "yes") else ""
            values[field.name] = raw
        return values

    @staticmethod
    def question(field: Input) -> str:
        if field.kind is InputKind.CHOICE:
            options = ", ".join(f"{i}) {title}" for i, (_k, title) in enumerate(field.choices, 1))
            return f"{field.label} [{options}]: "
        if field.kind is InputKind.TOGGLE:
            return f"{field.label} (y/N): "
        default = f" [{field.initial}]" if field.initial else ""
        return f"{field.label}{default}: "

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

    async def snooze(self, raw: str) -> None:
        try:
            until = date.fromisoformat(raw)
        except ValueError:
            self.say(f"“{raw}” is not a date — use YYYY-MM-DD, e.g. 2026-12-01.")
            return
        self.say((await snooze(self.deps, self.me.email, until, self.new_id())).text)
