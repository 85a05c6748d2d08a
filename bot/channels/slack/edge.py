"""Slack's side of the inbox: who clicked, and the outcome shown in place of the prompt."""

from __future__ import annotations

import json
from dataclasses import dataclass

import aiohttp
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.channels.slack import blocks, guards
from bot.channels.slack.channel import SlackChannel
from bot.core.deps import Deps
from bot.core.model import Person
from bot.core.ports import Inbound
from bot.core.prompts import Outcome
from bot.sender import deliver

RESPONSE_TIMEOUT = 10  # seconds for a response_url post; chat.update takes over after


@dataclass(frozen=True)
class SlackEdge:
    """The worker's handle on one workspace's Slack."""

    deps: Deps
    channel: SlackChannel

    async def who(self, item: Inbound) -> Person | None:
        return await guards.match(self.deps, self.channel.client, item.user)

    async def show(self, item: Inbound, person: Person | None, outcome: Outcome) -> None:
        """In place of the prompt, through the click's response_url (off the Web API's rate
        tiers); chat.update where it is gone (used 5 times, older than 30 minutes)."""
        reply = json.loads(item.reply_to or "{}")
        if outcome.duplicate:
            return
        shown = await self.responded(reply.get("url"), outcome)
        if not shown and person is not None:
            await self.channel.replace(person, reply.get("at"), outcome)
        if outcome.notices:
            await deliver(self.deps, self.channel)

    async def responded(self, url: str | None, outcome: Outcome) -> bool:
        if not url:
            return False
        try:
            sent = await AsyncWebhookClient(url, timeout=RESPONSE_TIMEOUT).send(
                text=outcome.text, blocks=blocks.outcome_blocks(outcome), replace_original=True
            )
        except (aiohttp.ClientError, OSError, TimeoutError):
            return False
        return sent.status_code == 200
