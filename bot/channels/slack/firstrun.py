"""Before the org file is imported: every Slack interaction is answered with the admin's step."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncBoltContext
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.channels.slack import blocks
from bot.channels.slack.listeners import SlackBot
from bot.channels.slack.mrkdwn import mrkdwn
from bot.core import firstrun
from bot.logs import Throttled

log = logging.getLogger("goalnudge.slack")
PASSED = {"app_uninstalled", "tokens_revoked"}  # Bolt's own listeners forget the token
Middleware = Callable[..., Awaitable[BoltResponse | None]]
told = Throttled(log)


def view(kind: str, line: str) -> dict[str, Any]:
    title = {"title": {"type": "plain_text", "text": "goalnudge"}} if kind == "modal" else {}
    return {"type": kind, **title, "blocks": [blocks.text(line)]}


async def said(call: Awaitable[Any]) -> None:
    """A reply sent after the ack: Slack refusing it, or out of reach, is a warning."""
    try:
        await call
    except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
        log.warning("Slack refused the not-set-up reply (%s)", type(exc).__name__)


def reply(body: dict[str, Any], client: AsyncWebClient, line: str) -> Awaitable[Any] | None:
    """The Web API call that shows `line` where the interaction happened, if one does."""
    kind = body.get("type")
    user = (body.get("user") or {}).get("id")
    if kind == "block_actions" and user:
        container, channel = body.get("container") or {}, body.get("channel") or {}
        if channel := container.get("channel_id") or channel.get("id"):
            return client.chat_postEphemeral(channel=channel, user=user, text=line)
        return client.chat_postMessage(channel=user, text=line)  # a button in a modal or Home
    if kind in ("message_action", "shortcut"):
        return client.views_open(trigger_id=body["trigger_id"], view=view("modal", line))
    event = body.get("event") or {}
    if event.get("type") == "app_home_opened":
        return client.views_publish(user_id=event["user"], view=view("home", line))
    typed = not (event.get("bot_id") or event.get("subtype"))  # not the bot's own echo
    if event.get("type") == "message" and event.get("channel_type") == "im" and typed:
        return client.chat_postMessage(channel=event["channel"], text=line)
    return None


def before_setup(
    bot_for: Callable[[AsyncBoltContext], Awaitable[SlackBot]],
) -> Middleware:
    """Bolt middleware, first of goalnudge's: while the request's organisation is not imported,
    nothing reaches a listener (they would all fail on it); the person is answered in the ack
    (slash command, modal submit) or right after it, and nothing is logged as an error."""
    replies: set[asyncio.Task[None]] = set()

    async def not_set_up(
        body: dict[str, Any],
        context: AsyncBoltContext,
        client: AsyncWebClient,
        next: Callable[[], Awaitable[None]],
    ) -> BoltResponse | None:
        missing = await firstrun.missing((await bot_for(context)).deps.directory)
        line = None if missing is None else mrkdwn(missing)
        if line is None or (body.get("event") or {}).get("type") in PASSED:
            # Bolt's hint says next() returns None; it returns the listener's response.
            return await next()  # type: ignore[func-returns-value]
        told.warning("not set up", "Slack request answered with: %s", line)
        if body.get("command"):
            return BoltResponse(status=200, body={"response_type": "ephemeral", "text": line})
        if body.get("type") == "view_submission":
            return BoltResponse(
                status=200, body={"response_action": "update", "view": view("modal", line)}
            )
        call = reply(body, client, line)
        if call is not None:
            task = asyncio.get_running_loop().create_task(said(call))
            replies.add(task)  # held until done: the loop keeps only weak references
            task.add_done_callback(replies.discard)
        return BoltResponse(status=200, body="")

    return not_set_up
