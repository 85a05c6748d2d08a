"""The Bot Connector client goalnudge sends through: the CloudAdapter and its authentication."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace
from typing import Any

import aiohttp
import jwt
from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication
from botbuilder.schema import Activity
from botframework.connector.auth import AuthenticateRequestResult
from msrest.exceptions import ClientRequestError, HttpOperationError

from bot.channels.teams.channel import TeamsChannel
from bot.config import Settings
from bot.core.ports import Clock, Conversations

log = logging.getLogger("goalnudge.teams")
CONNECTOR_FAULTS = (TimeoutError, aiohttp.ClientError, ClientRequestError, HttpOperationError)


class TeamsAuthentication(ConfigurationBotFrameworkAuthentication):
    """The library's checks; whatever a bad token makes them raise is a refusal (401)."""

    async def authenticate_request(
        self, activity: Activity, auth_header: str
    ) -> AuthenticateRequestResult:
        try:
            return await super().authenticate_request(activity, auth_header)
        except (PermissionError, jwt.PyJWTError):
            raise
        except Exception as exc:  # e.g. "Could not validate endorsement key", a bad alg
            raise PermissionError(f"{type(exc).__name__}: {exc}") from exc


class TeamsAdapter(CloudAdapter):
    """Replies and updates during a turn give up after `timeout`: a hung connector never
    holds the inbound request (nor a proactive send) longer than that."""

    def __init__(self, auth: TeamsAuthentication, timeout: float) -> None:
        super().__init__(auth)
        self.timeout = timeout

    async def send_activities(self, context: TurnContext, activities: list[Activity]) -> Any:
        return await asyncio.wait_for(super().send_activities(context, activities), self.timeout)

    async def update_activity(self, context: TurnContext, activity: Activity) -> Any:
        return await asyncio.wait_for(super().update_activity(context, activity), self.timeout)


async def on_error(context: TurnContext, error: Exception) -> None:
    if isinstance(error, CONNECTOR_FAULTS):  # the connector's fault, not a bug of ours
        log.warning("Teams turn cut short: the connector failed (%s)", type(error).__name__)
    else:
        log.error("Teams turn failed: %s", error, exc_info=error)


def teams_channel(settings: Settings, conversations: Conversations, clock: Clock) -> TeamsChannel:
    """Teams as a Channel: the adapter sends through the connector; no listener is built here."""
    app_id = settings.teams_app_id or ""
    config = SimpleNamespace(
        APP_TYPE="SingleTenant" if settings.teams_app_tenant_id and app_id else "MultiTenant",
        APP_ID=app_id,
        APP_PASSWORD=settings.teams_app_password or "",
        APP_TENANTID=settings.teams_app_tenant_id or "",
    )
    timeout = settings.teams_timeout_seconds
    adapter = TeamsAdapter(TeamsAuthentication(config), timeout)
    adapter.on_turn_error = on_error
    return TeamsChannel(adapter, app_id, conversations, timeout, clock)
