"""Build the Bolt app and the two small functions that carry aiohttp requests to it and back."""

from __future__ import annotations

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.middleware.authorization.async_single_team_authorization import (
    AsyncSingleTeamAuthorization,
)
from slack_sdk.errors import SlackApiError

from bot.channels.slack.channel import SlackChannel, make_client
from bot.channels.slack.listeners import SlackBot, register
from bot.config import Settings
from bot.core.deps import Deps
from bot.core.errors import ConfigError, IntegrationError


def build(settings: Settings, deps: Deps) -> tuple[AsyncApp, SlackChannel]:
    client = make_client(settings.slack_bot_token, settings.slack_api_url)
    channel = SlackChannel(client, deps.directory)
    app = AsyncApp(
        signing_secret=settings.slack_signing_secret or "",
        client=client,
        process_before_response=False,
    )
    register(app, SlackBot(deps, channel))
    return app, channel


def handler(app: AsyncApp) -> web.RequestHandler:
    """POST /slack/events: platform request → Bolt request → listeners → platform response."""

    async def slack_events(request: web.Request) -> web.StreamResponse:
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    return slack_events


async def verify(app: AsyncApp) -> None:
    """Check the bot token once at start-up, and hand the answer to Bolt, which would otherwise
    ask Slack again from every request that arrives before its first `auth.test` returns."""
    try:
        result = await app.client.auth_test()
    except SlackApiError as exc:
        raise ConfigError(
            f"SLACK_BOT_TOKEN: Slack refused it ({exc.response.get('error')})"
        ) from exc
    except (aiohttp.ClientError, OSError) as exc:
        raise IntegrationError("slack", f"cannot reach {app.client.base_url}: {exc}") from exc
    for middleware in app._async_middleware_list:
        if isinstance(middleware, AsyncSingleTeamAuthorization):
            middleware.auth_test_result = result
