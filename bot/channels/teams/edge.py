"""Teams' side of the inbox: each answer recorded before it is applied, and its outcome shown."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from botbuilder.schema import Activity

from bot.channels.teams.channel import TeamsChannel
from bot.channels.teams.identity import event_key, sender
from bot.core import inbox
from bot.core.channel import SendQueued
from bot.core.deps import Deps
from bot.core.model import Person
from bot.core.ports import Inbound
from bot.core.prompts import Answer, Outcome, Said
from bot.core.writeback import follow_up

PLATFORM = "teams"


def card_of(activity: Activity) -> str:
    """The card an activity answers, as TeamsChannel refers to it (`conversation|activity`;
    without an activity id, the outcome is told in the person's chat)."""
    return f"{activity.conversation.id}|{activity.reply_to_id or ''}"


@dataclass
class TeamsEdge:
    """The worker's handle on Teams, and the request's way into the inbox."""

    deps: Deps
    channel: TeamsChannel
    send_queued: SendQueued  # what an answer queued, sent through each person's platform

    async def close(self) -> None:
        """Nothing to let go: the adapter owns the connector's connections."""

    async def who(self, users: Sequence[str]) -> Mapping[str, Person]:
        return await self.deps.directory.people_by_identity(PLATFORM, users)

    async def apply(self, activity: Activity, answer: Answer | Said) -> Outcome:
        """Record the activity's answer in the inbox (unique on the activity), then apply it
        while Teams waits for the reply; should the process die in between, the worker applies
        the recorded row and `show`s it. Without an inbox (a CLI run), applied directly."""
        item = Inbound(
            event_key(activity),
            PLATFORM,
            sender(activity),
            answer,
            self.deps.clock.now(),
            card_of(activity) if isinstance(answer, Answer) else None,  # typed: told in chat
        )
        return await inbox.apply_now(self.deps, self.deps.inbox, {PLATFORM: self}, item)

    async def show(self, item: Inbound, person: Person | None, outcome: Outcome) -> None:
        """A row the worker applied: its outcome in place of the card (or told in the person's
        chat), then what it queued."""
        if outcome.duplicate or person is None:  # nobody to show it to
            return
        await self.channel.replace(person, item.reply_to, outcome)
        await self.after(person, item.reply_to, outcome)

    async def after(self, person: Person, card: str | None, outcome: Outcome) -> None:
        """With the outcome shown: the notices it queued are sent, and its write-back's own
        outcome replaces the card when it is done."""
        if outcome.duplicate:
            return
        if outcome.notices:
            await self.send_queued()
        follow_up(self.deps, outcome, lambda final: self.channel.replace(person, card, final))
