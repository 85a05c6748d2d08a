"""One Channel over several, registered by platform kind: each person is reached where they are."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime

from bot.channels.slack import PLATFORM as SLACK
from bot.channels.teams import PLATFORM as TEAMS
from bot.core.channel import Channel
from bot.core.digest import Digest, RollupNode
from bot.core.errors import IntegrationError
from bot.core.model import Person
from bot.core.prompts import Outcome, Prompt
from bot.core.rich import Rich

TEAMS_CHANNEL_PREFIX = "19:"
SEPARATOR = "|"


class Router:
    """Channels by platform kind (`slack`, `teams`, ...), in order of preference for a person
    known on several. A person is reached on the first platform they have an id for, else on the
    first that finds people by email (`by_email`), else on the first.

    A message reference it hands out starts with the kind of the channel that made it
    (`kind|ref`), so the message is updated there, wherever the person is reached since."""

    def __init__(
        self, channels: Mapping[str, Channel | None], by_email: Collection[str] = ()
    ) -> None:
        self.order = list(channels)
        self.channels = {kind: c for kind, c in channels.items() if c is not None}
        self.email_kinds = set(by_email)
        self.by_email = [kind for kind in self.channels if kind in by_email]

    def register(self, kind: str, channel: Channel) -> None:
        """Add (or replace) the channel of `kind`, in its place in the order of preference."""
        have = self.channels | {kind: channel}
        self.channels = {k: have[k] for k in [*self.order, kind] if k in have}
        self.by_email = [k for k in self.channels if k in self.email_kinds]

    def kind_for(self, person: Person) -> str:
        for kind in self.channels:
            if person.ids.get(kind):
                return kind
        for kind in (*self.by_email, *self.channels):
            return kind
        raise IntegrationError("chat", "no chat platform (Slack, Teams) is configured")

    def pick(self, person: Person) -> Channel:
        return self.channels[self.kind_for(person)]

    @staticmethod
    def _tagged(kind: str, ref: str | None) -> str | None:
        return f"{kind}{SEPARATOR}{ref}" if ref is not None else None

    async def send(self, person: Person, prompt: Prompt) -> str | None:
        kind = self.kind_for(person)
        return self._tagged(kind, await self.channels[kind].send(person, prompt))

    async def find(self, person: Person, checkin: int, since: datetime) -> str | None:
        kind = self.kind_for(person)
        return self._tagged(kind, await self.channels[kind].find(person, checkin, since))

    async def notify(self, person: Person, text: Rich, checkin: int | None = None) -> str | None:
        kind = self.kind_for(person)
        return self._tagged(kind, await self.channels[kind].notify(person, text, checkin))

    async def replace(self, person: Person, message_ref: str | None, outcome: Outcome) -> None:
        kind, _, ref = (message_ref or "").partition(SEPARATOR)
        if kind in self.channels:
            await self.channels[kind].replace(person, ref, outcome)
        else:  # no reference, or one stored before references named their kind
            await self.pick(person).replace(person, message_ref, outcome)

    async def post_digest(self, digest: Digest) -> str | None:
        # A digest channel is named in the org file by its id alone: Teams' ids tell themselves.
        to_teams = (digest.channel or "").startswith(TEAMS_CHANNEL_PREFIX)
        kind = TEAMS if to_teams and TEAMS in self.channels else SLACK
        channel = self.channels.get(kind) or self.channels.get(TEAMS)
        if channel is None:
            raise IntegrationError("chat", f"no channel can post {digest.team}'s digest")
        return await channel.post_digest(digest)

    async def post_rollup(self, person: Person, nodes: tuple[RollupNode, ...]) -> str | None:
        return await self.pick(person).post_rollup(person, nodes)
