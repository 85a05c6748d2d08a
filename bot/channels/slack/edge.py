"""Slack's side of the inbox: who clicked, and the outcome shown in place of the prompt."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import aiohttp
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.channels.slack import blocks, guards
from bot.channels.slack.channel import SlackChannel
from bot.core.deps import Deps
from bot.core.model import Person
from bot.core.ports import Inbound
from bot.core.prompts import Outcome
from bot.core.writeback import follow_up
from bot.sender import deliver

RESPONSE_TIMEOUT = 10  # seconds for a response_url post; chat.update takes over after


@dataclass
class SlackEdge:
    """The worker's handle on one workspace's Slack."""

    deps: Deps
    channel: SlackChannel
    http: aiohttp.ClientSession | None = None  # response_url posts reuse their connections

    async def close(self) -> None:
        if self.http is not None:
            await self.http.close()
            self.http = None

    async def who(self, users: Sequence[str]) -> Mapping[str, Person]:
        known = await self.deps.directory.people_by_identity(guards.PLATFORM, users)
        for user in set(users) - known.keys():  # not linked yet: by their Slack email
            person = await guards.match(self.deps, self.channel.client, user)
            if person is not None:
                known[user] = person
        return known

    async def show(self, item: Inbound, person: Person | None, outcome: Outcome) -> None:
        """In place of the prompt, through the click's response_url (off the Web API's rate
        tiers); chat.update where it is gone (used 5 times, older than 30 minutes)."""
        reply = json.loads(item.reply_to or "{}")
        if outcome.duplicate:
            return
        await self.replace(reply, person, outcome)
        if outcome.notices:
            await deliver(self.deps, self.channel)
        follow_up(self.deps, outcome, lambda final: self.replace(reply, person, final))

    async def replace(self, reply: dict[str, str], person: Person | None, outcome: Outcome) -> None:
        if not await self.responded(reply.get("url"), outcome) and person is not None:
            await self.channel.replace(person, reply.get("at"), outcome)

    async def responded(self, url: str | None, outcome: Outcome) -> bool:
        if not url:
            return False
        try:
            if self.http is None or self.http.closed:
                self.http = aiohttp.ClientSession()
            webhook = AsyncWebhookClient(url, timeout=RESPONSE_TIMEOUT, session=self.http)
            sent = await webhook.send(
                text=outcome.text, blocks=blocks.outcome_blocks(outcome), replace_original=True
            )
        except (aiohttp.ClientError, OSError, TimeoutError):
            return False
        return sent.status_code == 200
