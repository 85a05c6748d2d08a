"""The one aiohttp application: Slack events, health; and `goalnudge serve`, which runs it."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from aiohttp import web

from bot import logs
from bot.app import App, open_app
from bot.channels.slack import PLATFORM as SLACK
from bot.config import Settings
from bot.core import checkins, digest, firstrun
from bot.core.channel import Channel
from bot.core.delivery import chase, deliver, recover
from bot.core.deps import Deps
from bot.core.errors import GoalnudgeError, IntegrationError
from bot.core.inbox import Worker
from bot.core.ports import PROCESSED_KEPT
from bot.core.syncing import sync_due
from bot.observability import Health
from bot.scheduler import Leader
from bot.scheduler import start as start_scheduler

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp

    from bot.channels.teams.bot import TeamsBot
    from bot.workspaces import Workspace, Workspaces

log = logging.getLogger("goalnudge.server")
SLACK_APP: web.AppKey[AsyncApp] = web.AppKey("slack_app")
WORKSPACES: web.AppKey[Workspaces] = web.AppKey("slack_workspaces")  # OAuth mode
HEALTH: web.AppKey[Health] = web.AppKey("health")
WORKER: web.AppKey[Worker] = web.AppKey("inbox_worker")
INBOX_GRACE = 20.0  # seconds a stop waits for acked answers to be applied
STALE_SEND = timedelta(minutes=10)
WORKSPACES_AT_ONCE = 4  # OAuth mode: workspace rounds in flight together (each has its own limits)


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


@dataclass
class Listeners:
    """The chat platforms' request handlers: Bolt (one token, or OAuth with its workspaces)
    and the Teams bot."""

    slack: AsyncApp | None = None
    workspaces: Workspaces | None = None
    teams: TeamsBot | None = None


def listeners(settings: Settings, app: App, worker: Worker) -> Listeners:
    """The request handlers of the chat platforms, over the channels and the Deps the
    composition root built; `worker` applies what they record in the inbox."""
    built = Listeners()

    async def send_queued() -> None:
        """What an answer queued (a manager's notice), to each person where they are."""
        await deliver(app.deps, app.router)

    if app.slack is not None:
        from bot.channels.slack.app import build as build_slack

        built.slack = build_slack(settings, app.deps, app.slack, worker, send_queued)
    elif settings.slack_oauth:
        from bot.channels.slack.app import build_oauth
        from bot.workspaces import Workspaces

        built.workspaces = Workspaces(app.shared, worker)
        built.slack = build_oauth(settings, app.store, built.workspaces.bot_for)
    if app.shared.teams is not None:
        from bot.channels.teams.app import build as build_teams

        built.teams = build_teams(settings, app.deps, app.shared.teams, worker, send_queued)
    return built


def build_web_app(settings: Settings, app: App) -> tuple[web.Application, Channel]:
    """Every route on one port; returns the channel prompts go out through."""
    from bot.channels.slack.inbound import handler as slack_handler
    from bot.channels.teams.app import credentials_check
    from bot.channels.teams.app import routes as teams_routes

    web_app = web.Application(middlewares=[logs.with_request_id])
    web_app.router.add_get("/healthz", healthz)
    health = web_app[HEALTH] = app.shared.health
    if not settings.slack_oauth:  # OAuth: each workspace its own organisation, told in its chat
        health.setup = lambda: firstrun.missing(app.deps.directory)
    web_app.router.add_routes(health.routes(app.store))
    worker = web_app[WORKER] = Worker()
    built = listeners(settings, app, worker)
    web_app.cleanup_ctx.append(inbox_worker(worker, built.workspaces))
    for name, channel in app.router.channels.items():
        # Each platform's channel counts its calls; the core's Channel port need not say so.
        health.api[name] = channel.stats  # type: ignore[attr-defined]
    if app.slack is not None:
        health.platform_checks[SLACK] = app.slack.ready
    if built.workspaces is not None:  # OAuth: no one token to check; the calls of all workspaces
        health.api["slack"] = built.workspaces.stats
    if teams_ready := credentials_check(settings):
        health.platform_checks["teams"] = teams_ready
    if built.slack is not None:
        web_app[SLACK_APP] = built.slack
        if settings.slack_signing_secret:  # without it, only Socket Mode may reach the app
            slack_events = slack_handler(built.slack, settings.slack_signing_secret)
            web_app.router.add_post("/slack/events", slack_events)
    if built.workspaces is not None and built.slack is not None:
        from bot.channels.slack.app import oauth_handler
        from bot.channels.slack.oauth import INSTALL_PATH, REDIRECT_PATH

        web_app[WORKSPACES] = built.workspaces
        for path in (INSTALL_PATH, REDIRECT_PATH):
            web_app.router.add_get(path, oauth_handler(built.slack))
    if app.shared.teams is not None and built.teams is not None:
        teams_routes(web_app, settings, app.shared.teams.adapter, built.teams)
    if not settings.teams_app_id:
        log.warning(
            "TEAMS_APP_ID is not set: /api/messages accepts unauthenticated calls "
            "(local development only, e.g. the Bot Framework Emulator)"
        )
    return web_app, app.router


def inbox_worker(
    worker: Worker, workspaces: Workspaces | None
) -> Callable[[web.Application], AsyncIterator[None]]:
    """Applies the inbox while the app serves; at the stop, after the last request, it drains
    what was acked (INBOX_GRACE seconds at most; the rest waits for the next start)."""

    async def running(_web_app: web.Application) -> AsyncIterator[None]:
        if workspaces is not None:
            await workspaces.all()  # each installed workspace's inbox, rows left included
        await worker.ready()
        task = asyncio.create_task(worker.run())
        yield
        await worker.finish(task, INBOX_GRACE)

    return running


async def tick(
    app: App, channel: Channel, health: Health | None = None, started: datetime | None = None
) -> None:
    """One round of what the scheduler does: sync (on its interval, and for whoever is about to be
    asked), plan, send, chase, forget day-old event ids, post digests.

    `started`: when this process started; sends claimed before then were cut off by a crash.
    """
    cut_off = max(started, app.deps.clock.now() - STALE_SEND) if started else None
    await recover(app.deps, channel, cut_off)  # maybe-sent rows first: never sent twice
    for report in await sync_due(app.deps, app.syncs):
        if report.errors:
            log.warning("%s sync failed: %s", report.source, "; ".join(report.errors))
        if health is not None and (report.calls or report.errors):
            health.observe(report, app.deps.clock.now())
    planned = await checkins.plan(app.deps)
    delivered = await deliver(app.deps, channel)
    chased = await chase(app.deps, channel)
    await app.deps.ledger.forget_processed(app.deps.clock.now() - PROCESSED_KEPT)
    if app.deps.inbox is not None:
        await app.deps.inbox.forget(app.deps.clock.now() - PROCESSED_KEPT)
    counts = {
        "planned": len(planned.planned),
        "skipped": len(planned.skipped),
        "sent": len(delivered.sent),
        "not sent": len(delivered.failed),
        "reminded": len(chased.reminded),
        "expired": len(chased.expired),
    }
    if any(counts.values()):
        log.info("round: %s", ", ".join(f"{k} {v}" for k, v in counts.items()))
    for team in await digest.due_digests(app.deps):
        try:
            await post_digest(app.deps, channel, team)
        except IntegrationError as exc:  # not posted, so still due: tried again next round
            log.warning("could not post %s's digest: %s", team, exc)


async def post_digest(deps: Deps, channel: Channel, team: str) -> None:
    composed = await digest.compose(deps, team)
    await channel.post_digest(composed)
    await deps.digests.record_posted(composed.team, deps.clock.now())


async def safe_round(
    app: App,
    channel: Channel,
    health: Health | None,
    started: datetime | None,
    of: str = "",
) -> None:
    """A round whose failure is logged (and retried next time) rather than raised."""
    logs.new_round_id()
    try:
        await tick(app, channel, health, started)
    except GoalnudgeError as exc:
        log.warning("check-in round%s failed: %s", of, exc)


async def workspace_rounds(
    workspaces: Workspaces, health: Health | None = None, started: datetime | None = None
) -> None:
    """A round for each installed Slack workspace's organisation, through its own token, a few
    at a time: a workspace failing, or waiting out Slack's rate limit, holds up no other."""
    slots = asyncio.Semaphore(WORKSPACES_AT_ONCE)

    async def one(workspace: Workspace) -> None:
        async with slots:
            of = f" of Slack workspace {workspace.team_id}"
            await safe_round(workspace.app, workspace.channel, health, started, of)

    await asyncio.gather(*(one(w) for w in await workspaces.all()))


async def serve(settings: Settings) -> int:
    async with open_app(settings) as app:
        web_app, channel = build_web_app(settings, app)
        if SLACK_APP in web_app and settings.slack_bot_token:
            from bot.channels.slack.app import verify

            await verify(web_app[SLACK_APP])
        # Start-up objects (libraries, app) never die: keep them out of the collector's way, so a
        # full collection does not stall every request in flight.
        gc.collect()
        gc.freeze()
        runner = web.AppRunner(web_app, access_log_class=logs.AccessLog)
        await runner.setup()
        await web.TCPSite(runner, settings.host, settings.port).start()
        log.info("goalnudge listening on http://%s:%s", settings.host, settings.port)
        leader = Leader(app.store.engine)
        scheduler = None
        if settings.goalnudge_tick_seconds > 0:
            health = web_app[HEALTH]
            health.leading = lambda: leader.leading
            started = app.deps.clock.now()
            workspaces = web_app.get(WORKSPACES)
            scheduler = start_scheduler(
                leader,
                lambda: (
                    workspace_rounds(workspaces, health, started)
                    if workspaces is not None
                    else safe_round(app, channel, health, started)
                ),
                settings.goalnudge_tick_seconds,
            )
        socket_mode = None
        if settings.slack_app_token and SLACK_APP in web_app:
            from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

            socket_mode = AsyncSocketModeHandler(web_app[SLACK_APP], settings.slack_app_token)
            await socket_mode.connect_async()
            log.info("Slack Socket Mode connected")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        if scheduler is not None:
            await scheduler.stop()
        await leader.release()
        if socket_mode is not None:
            await socket_mode.close_async()
        await runner.cleanup()
    return 0
