"""Build the Bolt app, wire its listeners, and carry the OAuth pages' requests to it."""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.typedefs import Handler
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_bolt.kwargs_injection.async_args import AsyncArgs
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.middleware.authorization.async_single_team_authorization import (
    AsyncSingleTeamAuthorization,
)
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError

from bot.channels.slack import blocks
from bot.channels.slack.channel import SlackChannel, make_client
from bot.channels.slack.edge import SlackEdge
from bot.channels.slack.firstrun import before_setup
from bot.channels.slack.inbound import unhandled
from bot.channels.slack.listeners import MODAL, PLATFORM, SIMPLE, SlackBot
from bot.channels.slack.oauth import oauth_settings
from bot.config import Settings
from bot.core.channel import SendQueued
from bot.core.deps import Deps
from bot.core.errors import ConfigError, IntegrationError
from bot.core.inbox import Worker
from storage import Store

log = logging.getLogger("goalnudge.slack")
# inbound.handler verifies the signature before anything parses the body, so Bolt need not (its
# check would log a refused body); a request no listener takes goes to `unhandled`, not to
# Bolt's warning, which logs the body too.
CHECKED_AT_THE_DOOR: dict[str, Any] = {
    "request_verification_enabled": False,
    "raise_error_for_unhandled_request": True,
}


class SameTokenWarning(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN itself and then warns that the client we hand it wins; that
    client was made from the same token, so the warning would only alarm operators."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


logging.getLogger("slack_bolt.AsyncApp").addFilter(SameTokenWarning())


async def acked(ack: AsyncAck) -> None:
    await ack()


class Plain(AsyncMiddleware):
    """A middleware function called with the four things goalnudge's middlewares read (body,
    context, client, next): Bolt's own wrapper builds every listener argument there is for each
    request, a good share of an ack's time."""

    def __init__(self, func: Callable[..., Awaitable[BoltResponse | None]]) -> None:
        self.func = func

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],
    ) -> BoltResponse | None:
        context = req.context
        return await self.func(body=req.body, context=context, client=context.client, next=next)


BotFor = Callable[[AsyncBoltContext], Awaitable[SlackBot]]


def register(app: AsyncApp, bot_for: BotFor) -> None:
    """Each listener runs on the SlackBot of the request's workspace (`bot_for`): its own
    organisation and Slack client. With one bot token there is one SlackBot."""

    def via(name: str) -> Callable[[AsyncArgs], Awaitable[Any]]:
        wanted = list(inspect.signature(getattr(SlackBot, name)).parameters)[1:]  # after self

        async def listener(args: AsyncArgs) -> Any:
            method = getattr(await bot_for(args.context), name)
            return await method(**{arg: getattr(args, arg) for arg in wanted})

        return listener

    def later(name: str) -> dict[str, Any]:
        """Acked at once; the listener runs after the 200 (Bolt's lazy listener). Bolt would log
        its failure as one line with no traceback: it is logged as any listener's is."""
        run = via(name)

        async def lazy(args: AsyncArgs) -> None:
            try:
                await run(args)
            except Exception as exc:
                log.exception("Slack listener failed: %s", type(exc).__name__)

        return {"ack": acked, "lazy": [lazy]}

    async def once_per_event(
        body: dict[str, Any], context: AsyncBoltContext, client: object, next: Any
    ) -> BoltResponse | None:
        return await (await bot_for(context)).once_per_event(body, next, context)

    app.use(Plain(before_setup(bot_for)))  # first: before the org file is imported, nothing works
    app.use(Plain(once_per_event))
    # Each request is answered when its ack function returns: those that ack with a body
    # (errors, a command's reply) or after recording (a click) run inline; the rest ack at once
    # and do their work after the 200.
    app.action(SIMPLE)(via("on_simple_action"))
    app.action(MODAL)(**later("on_modal_action"))
    app.action(blocks.UPDATE_KR)(**later("on_update_kr"))
    app.action(blocks.UNDO)(via("on_undo"))
    app.action(blocks.DETAILS)(**later("on_details"))
    app.action(blocks.TEAM_DIGEST)(**later("on_details"))
    app.action(re.compile(""))(**later("on_other_action"))  # last: what the others do not take
    app.view(blocks.ADJUST_MODAL)(via("on_submit"))
    app.view(blocks.FLAG_MODAL)(via("on_submit"))
    app.view(blocks.SURE_MODAL)(via("on_submit"))
    app.shortcut("flag_blocker")(**later("on_flag_shortcut"))
    app.command("/goals")(via("on_goals"))
    app.event("app_home_opened")(**later("on_home"))
    app.event("message")(**later("on_message"))


def build(
    settings: Settings, deps: Deps, channel: SlackChannel, worker: Worker, send_queued: SendQueued
) -> AsyncApp:
    """One workspace, one bot token (SLACK_BOT_TOKEN): Bolt over the channel the composition root
    built, sharing its client; `send_queued` sends what answers queued."""
    app = AsyncApp(
        signing_secret=settings.slack_signing_secret or "",
        client=channel.client,
        process_before_response=True,  # no polling for the ack; slow work goes lazy
        **CHECKED_AT_THE_DOOR,
    )
    edge = SlackEdge(deps, channel, send_queued)
    bot = SlackBot(deps, channel, edge, worker)
    worker.add("slack", deps, {PLATFORM: edge})

    async def the_bot(_context: AsyncBoltContext) -> SlackBot:
        return bot

    register(app, the_bot)
    app.error(unhandled)
    return app


def build_oauth(settings: Settings, store: Store, bot_for: BotFor) -> AsyncApp:
    """Any number of workspaces, installed through OAuth; requests are authorised per workspace
    from the installations in the database."""
    timeout = settings.slack_timeout_seconds
    client = make_client(None, settings.slack_api_url, timeout=timeout)  # also takes OAuth calls
    oauth = oauth_settings(settings, store)
    app = AsyncApp(
        signing_secret=settings.slack_signing_secret or "",
        client=client,
        oauth_settings=oauth,
        # auth.test once per token, not on every request: acks stay fast. Bolt takes an
        # AsyncAuthorize object here too, though its hint names only functions.
        authorize=AsyncInstallationStoreAuthorize(  # type: ignore[arg-type]
            logger=log,
            installation_store=oauth.installation_store,
            bot_only=True,
            cache_enabled=True,
            client=client,
        ),
        process_before_response=True,  # no polling for the ack; slow work goes lazy
        **CHECKED_AT_THE_DOOR,
    )
    register(app, bot_for)
    app.error(unhandled)
    app.enable_token_revocation_listeners()  # uninstalled: the workspace's token is forgotten
    return app


def oauth_handler(app: AsyncApp) -> Handler:
    """GET /slack/install and /slack/oauth_redirect: Bolt's own OAuth flow, carried the same way."""
    flow = app.oauth_flow
    assert flow is not None

    async def slack_oauth(request: web.Request) -> web.StreamResponse:
        bolt_request = await to_bolt_request(request)
        if request.path == flow.install_path:
            return await to_aiohttp_response(await flow.handle_installation(bolt_request))
        return await to_aiohttp_response(await flow.handle_callback(bolt_request))

    return slack_oauth


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
