"""Slack as a Channel: DMs, in-place updates and digest posts through the Web API."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.channels.base import ApiStats
from bot.channels.console import plain
from bot.channels.slack import PLATFORM, blocks, fit
from bot.channels.slack.mrkdwn import mrkdwn
from bot.channels.slack.ratelimit import (
    HISTORY,
    Budget,
    GatedWebClient,
    GateRateLimitHandler,
    RetryAfterGate,
    SafeRetryHandler,
)
from bot.config import Settings
from bot.core.digest import Digest, RollupNode
from bot.core.errors import AuthError, IntegrationError, TransientError, Unconfirmed
from bot.core.model import Person
from bot.core.ports import Directory
from bot.core.prompts import Outcome, Prompt
from bot.core.rich import Rich, rich

METADATA_EVENT = "goalnudge_checkin"
AUTH_ERRORS = {"invalid_auth", "not_authed", "token_revoked", "account_inactive"}
# Slack's own "try again later" errors (HTTP 200, ok:false); any other error will not go away
# by itself (channel_not_found, user_disabled, invalid_blocks, ...).
TRANSIENT_ERRORS = {"internal_error", "fatal_error", "service_unavailable", "request_timeout"}
# Of those, the ones after which Slack says some of the work may have been done.
MAYBE_DONE = {"internal_error", "fatal_error", "service_unavailable"}
HISTORY_PAGE = 15  # messages a lookup reads: the most Slack returns to non-Marketplace apps
CLOCK_SKEW = 60.0  # seconds between our clock and Slack's that a lookup allows for
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SlackLimits:
    """How long a Web API call may take, and how many history lookups a workspace allows."""

    timeout: float = 15.0  # seconds, each Web API call (slack_sdk's own default is 30)
    history_lookups: int = 1  # conversations.history calls per workspace per `history_window`
    history_window: float = 60.0  # seconds

    @classmethod
    def of(cls, settings: Settings) -> SlackLimits:
        lookups = settings.slack_history_lookups_per_minute
        if lookups is None:
            lookups = 1 if settings.slack_oauth else 50
        return cls(settings.slack_timeout_seconds, lookups)


def make_client(
    token: str | None, base_url: str, stats: ApiStats | None = None, timeout: float = 15.0
) -> AsyncWebClient:
    """A Web API client that waits out 429s (Retry-After), retries a refused connection, and
    retries 5xx and resets only for idempotent methods; `stats` counts its calls (several
    clients may share one); every call gives up after `timeout` seconds."""
    gate = RetryAfterGate(stats or ApiStats())
    return GatedWebClient(
        token=token,
        base_url=base_url,
        timeout=timeout,
        gate=gate,
        retry_handlers=[
            GateRateLimitHandler(gate, max_retry_count=5),
            SafeRetryHandler(max_retry_count=2),
        ],
    )


# What a Web API call can raise: Slack's answer, or no answer at all (after the client's retries).
FAILURES = (SlackApiError, aiohttp.ClientError, OSError, asyncio.TimeoutError)


def slack_error(exc: Exception, sending: bool = False) -> IntegrationError:
    """Slack's failure on our error tree; `sending`: the call posts a message, so a failure
    after Slack may have received it is `Unconfirmed` (looked up later, never resent)."""
    if not isinstance(exc, SlackApiError):
        if sending and not isinstance(exc, aiohttp.ClientConnectorError):
            return Unconfirmed("slack", f"no answer from Slack ({type(exc).__name__})")
        return TransientError("slack", f"cannot reach Slack ({type(exc).__name__})")
    error = str(exc.response.get("error", "unknown_error"))
    if error in AUTH_ERRORS:
        return AuthError("slack", error)
    status = exc.response.status_code
    if sending and (status >= 500 or error in MAYBE_DONE):
        return Unconfirmed("slack", error)
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

    def __init__(
        self, client: AsyncWebClient, directory: Directory, limits: SlackLimits = SlackLimits()
    ) -> None:
        self.client = client
        self.directory = directory
        self.gate = client.gate if isinstance(client, GatedWebClient) else None
        self.stats = self.gate.stats if self.gate else ApiStats()
        self.history = Budget(limits.history_lookups, limits.history_window)

    async def ready(self) -> str:
        """For /readyz: whether Slack still accepts the bot token."""
        try:
            await self.client.auth_test()
        except FAILURES as exc:
            return f"failing: {slack_error(exc)}"
        return "ok"

    async def user_id(self, person: Person) -> str:
        if known := person.ids.get(PLATFORM):
            return known
        try:
            found = await self.client.users_lookupByEmail(email=person.email)
        except FAILURES as exc:
            raise slack_error(exc) from exc
        user = str(found["user"]["id"])
        await self.directory.link_identity(person.email, PLATFORM, user, found["user"].get("tz"))
        return user

    async def post(
        self,
        channel: str,
        fallback: Rich,
        body: list[blocks.Block],
        thread: str | None = None,
        checkin: int | None = None,
    ) -> str:
        """Post the blocks; when they do not fit one message, the rest follow in its thread."""
        first, *rest = fit.messages(body)
        ref = await self._post_one(channel, fallback, first, thread, checkin)
        where, ts = ref.split(":", 1)
        for page in rest:
            try:
                await self._post_one(where, fallback, page, thread or ts)
            except IntegrationError as exc:  # the first message is out: never post it again
                log.warning("Slack: a follow-up of %s was not posted (%s)", ref, exc)
                break
        return ref

    async def _post_one(
        self, channel: str, fallback: Rich, body: list[blocks.Block], thread: str | None = None,
        checkin: int | None = None,
    ) -> str:  # fmt: skip
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
            raise slack_error(exc, sending=True) from exc
        return f"{sent['channel']}:{sent['ts']}"

    async def send(self, person: Person, prompt: Prompt) -> str | None:
        return await self.post(
            await self.user_id(person),
            prompt.headline,
            blocks.prompt_blocks(prompt),
            checkin=prompt.checkin_id,
        )

    async def find(self, person: Person, checkin: int, since: datetime) -> str | None:
        """The message a cut-off send delivered for `checkin` (claimed at `since`), found by its
        metadata in the newest messages of the DM; None when the DM shows it is not there.
        One conversations.history call, within the workspace's budget: when the budget is
        spent, or the page does not reach back to `since`, TransientError (ask again later)."""
        if not self.history.take() or (self.gate and self.gate.closed(HISTORY)):
            raise TransientError("slack", "history lookups spent for now")
        try:
            opened = await self.client.conversations_open(users=await self.user_id(person))
            channel = opened["channel"]["id"]
            history = await self.client.conversations_history(
                channel=channel, limit=HISTORY_PAGE, include_all_metadata=True
            )
        except FAILURES as exc:
            raise slack_error(exc) from exc
        messages = history.get("messages") or []
        for message in messages:
            meta = message.get("metadata") or {}
            if meta.get("event_type") == METADATA_EVENT and (
                meta.get("event_payload", {}).get("checkin") == checkin
            ):
                return f"{channel}:{message['ts']}"
        oldest = min((float(m["ts"]) for m in messages), default=0.0)
        if history.get("has_more") and oldest >= since.timestamp() - CLOCK_SKEW:
            raise TransientError("slack", "more messages since the send than one page holds")
        return None

    async def notify(self, person: Person, text: Rich, checkin: int | None = None) -> str | None:
        user = await self.user_id(person)
        return await self.post(user, text, [blocks.text(text)], checkin=checkin)

    async def replace(self, person: Person, message_ref: str | None, outcome: Outcome) -> None:
        where = split_ref(message_ref)
        if where is None:
            await self.notify(person, outcome.text)
            return
        try:
            await self.client.chat_update(
                channel=where[0],
                ts=where[1],
                text=mrkdwn(outcome.text),
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
        title = rich(f"{digest.team} digest")
        return await self.post(channel, title, blocks.digest_blocks(digest))

    async def post_rollup(self, person: Person, nodes: tuple[RollupNode, ...]) -> str | None:
        return await self.post(
            await self.user_id(person), rich("Company roll-up"), blocks.rollup_blocks(nodes)
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
