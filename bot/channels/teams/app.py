"""Build the CloudAdapter and the aiohttp handler for POST /api/messages."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from types import SimpleNamespace

import jwt
from aiohttp import web
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
)
from botbuilder.schema import Activity
from botframework.connector.auth import MicrosoftAppCredentials

from bot.channels.teams.bot import TeamsBot
from bot.channels.teams.channel import TeamsChannel
from bot.config import Settings
from bot.core.deps import Deps
from bot.core.ports import Conversations

log = logging.getLogger("goalnudge.teams")


def build(
    settings: Settings, deps: Deps, conversations: Conversations
) -> tuple[CloudAdapter, TeamsBot, TeamsChannel]:
    app_id = settings.teams_app_id or ""
    config = SimpleNamespace(
        APP_TYPE="SingleTenant" if settings.teams_app_tenant_id else "MultiTenant",
        APP_ID=app_id,
        APP_PASSWORD=settings.teams_app_password or "",
        APP_TENANTID=settings.teams_app_tenant_id or "",
    )
    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(config))
    channel = TeamsChannel(adapter, app_id, conversations, settings.teams_timeout_seconds)
    bot = TeamsBot(deps, conversations, channel)

    async def on_error(context, error: Exception) -> None:
        log.error("Teams turn failed: %s", error, exc_info=error)

    adapter.on_turn_error = on_error
    return adapter, bot, channel


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


def handler(adapter: CloudAdapter, bot: TeamsBot) -> web.RequestHandler:
    """POST /api/messages: request → Activity → the adapter (auth, bot) → invoke response.

    `CloudAdapter.process` would serialise invoke bodies twice (a 500 for every card action
    and task module), so the request is carried to `process_activity` here instead.
    """

    async def api_messages(request: web.Request) -> web.StreamResponse:
        if "application/json" not in request.headers.get("Content-Type", ""):
            return web.json_response({"error": "expected application/json"}, status=415)
        try:
            activity = Activity().deserialize(await request.json())
        except ValueError:
            return web.json_response({"error": "the body is not JSON"}, status=400)
        if not activity.type:
            return web.json_response({"error": "an activity needs a type"}, status=400)
        try:
            invoke = await adapter.process_activity(
                request.headers.get("Authorization", ""), activity, bot.on_turn
            )
        except (PermissionError, jwt.PyJWTError):
            return web.json_response({"error": "unauthorized"}, status=401)
        if invoke is None:
            return web.Response(status=201)
        return web.json_response(invoke.body, status=invoke.status)

    return api_messages
