"""One Channel over several: each person is reached where they are (Teams or Slack)."""

from __future__ import annotations

from datetime import datetime

from bot.core.channel import Channel
from bot.core.digest import Digest, RollupNode
from bot.core.errors import IntegrationError
from bot.core.model import Person
from bot.core.prompts import Outcome, Prompt
from bot.core.rich import Rich

TEAMS_CHANNEL_PREFIX = "19:"


class Router:
    def __init__(self, slack: Channel | None = None, teams: Channel | None = None) -> None:
        self.slack, self.teams = slack, teams

    def pick(self, person: Person) -> Channel:
        if self.teams is not None and (person.ids.teams or self.slack is None):
            return self.teams
        if self.slack is not None:
            return self.slack
        raise IntegrationError("chat", "neither Slack nor Teams is configured")

    async def send(self, person: Person, prompt: Prompt) -> str | None:
        return await self.pick(person).send(person, prompt)

    async def find(self, person: Person, checkin: int, since: datetime) -> str | None:
        return await self.pick(person).find(person, checkin, since)

    async def notify(self, person: Person, text: Rich, checkin: int | None = None) -> str | None:
        return await self.pick(person).notify(person, text, checkin)

    async def replace(self, person: Person, message_ref: str | None, outcome: Outcome) -> None:
        teams_ref = message_ref is not None and "|" in message_ref
        channel = self.teams if teams_ref and self.teams else self.pick(person)
        await channel.replace(person, message_ref, outcome)

    async def post_digest(self, digest: Digest) -> str | None:
        to_teams = (digest.channel or "").startswith(TEAMS_CHANNEL_PREFIX) or self.slack is None
        channel = self.teams if to_teams and self.teams else self.slack
        if channel is None:
            raise IntegrationError("chat", f"no channel can post {digest.team}'s digest")
        return await channel.post_digest(digest)

    async def post_rollup(self, person: Person, nodes: tuple[RollupNode, ...]) -> str | None:
        return await self.pick(person).post_rollup(person, nodes)
