"""Slack as a Channel: DMs, in-place updates and digest posts through the Web API."""

from __future__ import annotations

import asyncio
import time

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.channels.base import ApiStats
from bot.channels.console import plain
from bot.channels.slack import blocks
from bot.channels.slack.ratelimit import GatedWebClient, GateRateLimitHandler, RetryAfterGate
from bot.core.digest import Digest, RollupNode
from bot.core.errors import AuthError, IntegrationError, TransientError
from bot.core.model import Person
from bot.core.ports import Directory
from bot.core.prompts import Outcome, Prompt

METADATA_EVENT = "goalnudge_checkin"
AUTH_ERRORS = {"invalid_auth", "not_authed", "token_revoked", "account_inactive"}
# Slack's own "try again later" errors (HTTP 200, ok:false); any other error will not go away
# by itself (channel_not_found, user_disabled, invalid_blocks, ...).
TRANSIENT_ERRORS = {"internal_error", "fatal_error", "service_unavailable", "request_timeout"}


def make_client(token: str | None, base_url: str, stats: ApiStats | None = None) -> AsyncWebClient:
    """A Web API client that waits out 429s (Retry-After) and retries 5xx and resets; `stats`
    counts its calls (several clients may share one)."""
    gate = RetryAfterGate(stats or ApiStats())
    return GatedWebClient(
        token=token,
        base_url=base_url,
        gate=gate,
        retry_handlers=[
            GateRateLimitHandler(gate, max_retry_count=5),
            AsyncServerErrorRetryHandler(max_retry_count=2),
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
        ],
    )


# What a Web API call can raise: Slack's answer, or no answer at all (after the client's retries).
FAILURES = (SlackApiError, aiohttp.ClientError, OSError, asyncio.TimeoutError)


def slack_error(exc: Exception) -> IntegrationError:
    if not isinstance(exc, SlackApiError):
        return TransientError("slack", f"cannot reach Slack ({type(exc).__name__})")
    error = str(exc.response.get("error", "unknown_error"))
    if error in AUTH_ERRORS:
        return AuthError("slack", error)
    status = exc.response.status_code
    if status == 429 or status >= 500 or error in TRANSIENT_ERRORS:
        retry = exc.response.headers.get("Retry-After")
        return TransientError("slack", error, float(retry) if retry else None)
    return IntegrationError("slack", error)


def split_ref(ref: str | None) -> tuple[str, str] | None:
    if not ref or ":" not in ref:
        return None
    channel, ts = ref.split(":", 1)
    return channel, ts


class SlackChannel:
    """Message references are `CHANNEL:TS`, enough to `chat.update` the message later."""

    def __init__(self, client: AsyncWebClient, directory: Directory) -> None:
        self.client = client
        self.directory = directory
        self.stats = client.gate.stats if isinstance(client, GatedWebClient) else ApiStats()

    async def ready(self) -> str:
        """For /readyz: whether Slack still accepts the bot token."""
        try:
            await self.client.auth_test()
        except FAILURES as exc:
            return f"failing: {slack_error(exc)}"
        return "ok"

    async def user_id(self, person: Person) -> str:
        if person.ids.slack:
            return person.ids.slack
        try:
            found = await self.client.users_lookupByEmail(email=person.email)
        except FAILURES as exc:
            raise slack_error(exc) from exc
        user = str(found["user"]["id"])
        await self.directory.link_identity(person.email, "slack", user, found["user"].get("tz"))
        return user

    async def post(
        self,
        channel: str,
        fallback: str,
        body: list[blocks.Block],
        thread: str | None = None,
        checkin: int | None = None,
    ) -> str:
        # The check-in id travels in the message metadata, so a cut-off send can be found later.
        metadata = (
            {"event_type": METADATA_EVENT, "event_payload": {"checkin": checkin}}
            if checkin is not None
            else None
        )
        try:
            sent = await self.client.chat_postMessage(
                channel=channel,
                text=plain(fallback)[:3000],
                blocks=body,
                thread_ts=thread,
                metadata=metadata,
            )
        except FAILURES as exc:
            raise slack_error(exc) from exc
        return f"{sent['channel']}:{sent['ts']}"

    async def send(self, person: Person, prompt: Prompt) -> str | None:
        return await self.post(
            await self.user_id(person),
            prompt.headline,
            blocks.prompt_blocks(prompt),
            checkin=prompt.checkin_id,
        )

    async def find(self, person: Person, checkin: int) -> str | None:
        """The message already sent for `checkin`, if a send was cut off before it was recorded."""
        try:
            opened = await self.client.conversations_open(users=await self.user_id(person))
            channel = opened["channel"]["id"]
            history = await self.client.conversations_history(
                channel=channel, limit=50, include_all_metadata=True
            )
        except FAILURES as exc:
            raise slack_error(exc) from exc
        for message in history["messages"]:
            meta = message.get("metadata") or {}
            if meta.get("event_type") == METADATA_EVENT and (
                meta.get("event_payload", {}).get("checkin") == checkin
            ):
                return f"{channel}:{message['ts']}"
        return None

    async def notify(self, person: Person, text: str) -> str | None:
        return await self.post(await self.user_id(person), text, [blocks.text(text)])

    async def replace(self, person: Person, message_ref: str | None, outcome: Outcome) -> None:
        where = split_ref(message_ref)
        if where is None:
            await self.notify(person, outcome.text)
            return
        try:
            await self.client.chat_update(
                channel=where[0],
                ts=where[1],
                text=outcome.text,
                blocks=blocks.outcome_blocks(outcome),
            )
        except FAILURES as exc:
            raise slack_error(exc) from exc

    async def post_digest(self, digest: Digest) -> str | None:
        channel = digest.channel
        if channel is None:
            manager = await self.directory.person(digest.manager_email)
            if manager is None:
                raise IntegrationError("slack", f"no digest channel for {digest.team}")
            channel = await self.user_id(manager)
        return await self.post(channel, f"{digest.team} digest", blocks.digest_blocks(digest))

    async def post_rollup(self, person: Person, nodes: tuple[RollupNode, ...]) -> str | None:
        return await self.post(
            await self.user_id(person), "Company roll-up", blocks.rollup_blocks(nodes)
        )


AWAY_WORDS = ("vacation", "holiday", "out of office", "ooo", "off today", "sick", "leave", "pto")
AWAY_EMOJI = (
    ":palm_tree:",
    ":airplane:",
    ":face_with_thermometer:",
    ":beach_with_umbrella:",
    ":sick:",
    ":no_entry:",
)


class SlackAvailability:
    """Reads a person's Slack status: "On vacation 🌴" means do not ask today."""

    def __init__(self, channel: SlackChannel) -> None:
        self.channel = channel

    async def away(self, person: Person) -> str | None:
        try:
            user = await self.channel.user_id(person)
            info = await self.channel.client.users_info(user=user)
        except (IntegrationError, *FAILURES):
            return None  # no status is no reason to skip anyone
        profile = info["user"].get("profile", {})
        text = str(profile.get("status_text") or "")
        emoji = str(profile.get("status_emoji") or "")
        expires = int(profile.get("status_expiration") or 0)
        if expires and expires < time.time():
            return None
        if emoji in AWAY_EMOJI or any(word in text.lower() for word in AWAY_WORDS):
            return f"Slack status says away ({' '.join(filter(None, (emoji, text)))})"
        return None
