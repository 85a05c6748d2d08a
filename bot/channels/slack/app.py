"""Build the Bolt app and the two small functions that carry aiohttp requests to it and back."""

from __future__ import annotations

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

from bot.channels.slack.channel import SlackChannel, make_client
from bot.channels.slack.listeners import SlackBot, register
from bot.config import Settings
from bot.core.deps import Deps


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
