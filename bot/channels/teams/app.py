"""Build the CloudAdapter and the aiohttp handler for POST /api/messages."""

from __future__ import annotations

import logging
from types import SimpleNamespace

from aiohttp import web
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
)

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
    if not app_id:
        log.warning(
            "TEAMS_APP_ID is not set: /api/messages accepts unauthenticated calls "
            "(local development only, e.g. the Bot Framework Emulator)"
        )
    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(config))
    channel = TeamsChannel(adapter, app_id, conversations)
    bot = TeamsBot(deps, conversations, channel)

    async def on_error(context, error: Exception) -> None:
        log.error("Teams turn failed: %s", error, exc_info=error)

    adapter.on_turn_error = on_error
    return adapter, bot, channel


def handler(adapter: CloudAdapter, bot: TeamsBot) -> web.RequestHandler:
    """POST /api/messages: the CloudAdapter authenticates, runs the bot, writes the response."""

    async def api_messages(request: web.Request) -> web.StreamResponse:
        return await adapter.process(request, bot) or web.Response(status=201)

    return api_messages
