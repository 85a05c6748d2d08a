"""Slack's side of the inbox: deliveries recorded, who sent them, and their outcomes shown."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncBoltContext
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.channels.slack import blocks, guards
from bot.channels.slack.channel import SlackChannel
from bot.channels.slack.mrkdwn import mrkdwn
from bot.core import commands, inbox
from bot.core.answers import plan
from bot.core.channel import SendQueued
from bot.core.deps import Deps
from bot.core.inbox import Worker
from bot.core.model import Person
from bot.core.ports import Inbound
from bot.core.prompts import Answer, Outcome, Said
from bot.core.writeback import follow_up

RESPONSE_TIMEOUT = 10  # seconds for a response_url post; chat.update takes over after


@dataclass
class SlackEdge:
    """The worker's handle on one workspace's Slack."""

    deps: Deps
    channel: SlackChannel
    send_queued: SendQueued  # what an answer queued, sent through each person's platform
    http: aiohttp.ClientSession | None = None  # response_url posts reuse their connections

    def inbound(self, key: str, user: str, answer: Answer | Said, **reply: str | None) -> Inbound:
        """A delivery to record; `reply` says where its outcome goes: `url` (a response_url),
        `at` (channel:ts of the prompt, for chat.update) or `say` (a channel to post in)."""
        return Inbound(key, guards.PLATFORM, user, answer, self.deps.clock.now(), json.dumps(reply))

    async def applied(self, user: str, what: Answer | Said) -> Outcome:
        """Recorded in the inbox, then applied while Slack waits (the outcome goes in the ack;
        should the process die first, the worker applies the recorded row). With no inbox (a
        command-line run) it is applied directly."""
        if isinstance(what, Answer):  # checked first: a form with errors is answered inline,
            checked = await plan(self.deps, what)  # and the same form may come back fixed
            if isinstance(checked, Outcome):
                return checked
        item = self.inbound(what.answer_id, user, what)
        return await inbox.apply_now(self.deps, self.deps.inbox, {guards.PLATFORM: self}, item)

    async def typed(
        self, body: dict[str, Any], context: AsyncBoltContext, event_id: str, worker: Worker | None
    ) -> bool:
        """A DM to the bot that changes something (`snooze until …`) is recorded in the inbox
        before Slack's 200 (an event's ack does not wait for its listener); the worker applies
        it and answers in the DM. False: not such a DM, for the listeners to handle."""
        event = body.get("event") or {}
        text = str(event.get("text") or "")
        if (
            self.deps.inbox is None
            or worker is None
            or event.get("type") != "message"
            or event.get("channel_type") != "im"
            or event.get("bot_id")
            or event.get("subtype")
            or guards.foreign(context, event.get("user_team")) is not None  # refused there
            or not commands.changes_state(text)
        ):
            return False
        key = f"slack-event:{guards.workspace(context)}:{event_id}"
        said = Said(key, "", text)
        await self.deps.inbox.put(
            self.inbound(key, str(event.get("user")), said, say=event.get("channel"))
        )
        worker.wake()
        return True

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
        if reply.get("say"):  # a typed command: answered where it was typed
            await self.channel.post(reply["say"], outcome.text, [blocks.text(outcome.text)])
        else:
            await self.replace(reply, person, outcome)
        if outcome.notices:
            await self.send_queued()
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
                text=mrkdwn(outcome.text),
                blocks=blocks.outcome_blocks(outcome),
                replace_original=True,
            )
        except (aiohttp.ClientError, OSError, TimeoutError):
            return False
        return sent.status_code == 200
