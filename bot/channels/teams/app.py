"""Build the Teams bot (listeners) and the aiohttp handler for POST /api/messages."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable

import jwt
from aiohttp import web
from aiohttp.typedefs import Handler
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity
from botframework.connector.auth import MicrosoftAppCredentials
from msrest.exceptions import DeserializationError

from bot import logs
from bot.channels.teams import keys
from bot.channels.teams.bot import TeamsBot
from bot.channels.teams.channel import TeamsChannel
from bot.channels.teams.edge import PLATFORM
from bot.channels.teams.firstrun import guarded
from bot.config import Settings
from bot.core.channel import SendQueued
from bot.core.deps import Deps
from bot.core.inbox import Worker

log = logging.getLogger("goalnudge.teams")
# Teams activities are a few KB and a card at most 28 KB: anything far larger is refused unread.
MAX_BODY = 256 * 1024


def build(
    settings: Settings,
    deps: Deps,
    channel: TeamsChannel,
    worker: Worker,
    send_queued: SendQueued,
) -> TeamsBot:
    """The bot (listeners) over the channel the composition root built; `worker` applies the
    Teams rows of the inbox whose request did not (the process died first); `send_queued` sends
    what answers queued."""
    timeout = settings.teams_timeout_seconds
    tenant = settings.teams_app_tenant_id
    bot = TeamsBot(deps, channel.conversations, channel, send_queued, tenant, timeout)
    worker.add(PLATFORM, deps, {PLATFORM: bot.edge})
    return bot


def credentials_check(settings: Settings) -> Callable[[], Awaitable[str]] | None:
    """For /readyz: whether Azure AD gives the bot a token (the call every send makes first)."""
    if not settings.teams_app_id:
        return None
    credentials = MicrosoftAppCredentials(
        settings.teams_app_id, settings.teams_app_password or "", settings.teams_app_tenant_id
    )

    async def ready() -> str:
        try:
            # msal is blocking; a token is cached by it, so only the first check is slow.
            await asyncio.wait_for(asyncio.to_thread(credentials.get_access_token), 10)
        except PermissionError:
            return "failing: Azure AD refused TEAMS_APP_ID / TEAMS_APP_PASSWORD"
        except Exception as exc:  # readiness reports every failure rather than raising it
            return f"failing: cannot get a token from Azure AD ({type(exc).__name__})"
        return "ok"

    return ready


async def bounded_body(request: web.Request) -> bytes | None:
    """The body, or None when it is larger than MAX_BODY (never read past that)."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        return None
    body = bytearray()
    async for chunk in request.content.iter_chunked(64 * 1024):
        body += chunk
        if len(body) > MAX_BODY:
            return None
    return bytes(body)


def handler(adapter: CloudAdapter, bot: TeamsBot, settings: Settings) -> Handler:
    """POST /api/messages: size, token presence, JSON, then the adapter (JWT, bot).

    `CloudAdapter.process` would serialise invoke bodies twice (a 500 for every card action
    and task module), so the request is carried to `process_activity` here instead.
    Refused bodies are never logged: only their size and source.
    """
    refusals = logs.Throttled(log)
    authenticated = bool(settings.teams_app_id)
    turn = guarded(bot)  # before the org file is imported, the bot's handlers cannot work

    def refuse(request: web.Request, status: int, kind: str, detail: str = "") -> web.Response:
        size = request.content_length if request.content_length is not None else "?"
        source = request.remote or "-"
        refusals.warning(
            f"{source}:{kind}", "Teams request refused: %s%s (%s bytes from %s)",
            kind, f" ({detail})" if detail else "", size, source,
        )  # fmt: skip
        return web.json_response({"error": kind}, status=status)

    async def api_messages(request: web.Request) -> web.StreamResponse:
        auth = request.headers.get("Authorization", "")
        if authenticated and not auth.startswith("Bearer "):
            return refuse(request, 401, "unauthorized", "no bearer token")
        if "application/json" not in request.headers.get("Content-Type", ""):
            return refuse(request, 415, "expected application/json")
        body = await bounded_body(request)
        if body is None:
            return refuse(request, 413, f"body larger than {MAX_BODY} bytes")
        try:
            parsed = json.loads(body)
            activity = Activity().deserialize(parsed) if isinstance(parsed, dict) else None
        except (ValueError, DeserializationError) as exc:
            return refuse(request, 400, "not an activity", type(exc).__name__)
        if activity is None or not activity.type:
            return refuse(request, 400, "an activity needs a type")
        try:
            invoke = await adapter.process_activity(auth, activity, turn)
        except (PermissionError, jwt.PyJWTError) as exc:
            return refuse(request, 401, "unauthorized", type(exc).__name__)
        if invoke is None:
            return web.Response(status=201)
        body = invoke.body.serialize() if hasattr(invoke.body, "serialize") else invoke.body
        return web.json_response(body, status=invoke.status)

    return api_messages


def routes(
    web_app: web.Application, settings: Settings, adapter: CloudAdapter, bot: TeamsBot
) -> None:
    """POST /api/messages, and the signing keys refreshed beside it while the app runs."""
    metadata = settings.teams_openid_metadata_url if settings.teams_app_id else None
    web_app.cleanup_ctx.append(keys.refreshing(keys.install(metadata)))
    web_app.router.add_post("/api/messages", handler(adapter, bot, settings))
