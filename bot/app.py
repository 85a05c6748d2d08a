"""The composition root: from Settings, each organisation's store, channels and Deps, built once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from bot.channels.router import Router
from bot.channels.slack import PLATFORM as SLACK
from bot.channels.teams import PLATFORM as TEAMS
from bot.config import Settings
from bot.core.breaker import Breakers
from bot.core.deps import Deps, NoMetrics, SystemClock, Timing
from bot.core.errors import ConfigError
from bot.core.jobs import Jobs
from bot.core.ports import Availability, Clock, Metrics, Reachability
from bot.core.sources import Sources
from bot.core.syncing import SyncSchedule
from bot.observability import Health
from integrations import registry
from integrations.calendar import PublicHolidays
from storage import SecretBox, Store, open_store
from storage.db import schema_is_current
from storage.secrets import check as check_secrets

if TYPE_CHECKING:
    from bot.channels.base import ApiStats
    from bot.channels.slack.channel import SlackChannel
    from bot.channels.teams.channel import TeamsChannel
    from bot.core.channel import Channel
    from storage.installations import Installed


def timing(settings: Settings) -> Timing:
    """One reminder (or none) a set time after a prompt; then it expires."""
    remind = timedelta(minutes=settings.goalnudge_remind_after_minutes)
    return Timing(
        remind if settings.goalnudge_reminders == "one" else None,
        timedelta(minutes=settings.goalnudge_expire_after_minutes),
        timedelta(minutes=settings.goalnudge_sync_minutes),
    )


def repositories(store: Store) -> dict[str, Any]:
    """The organisation's repositories, by the Deps field each one fills."""
    return {
        "directory": store.directory,
        "outbox": store.outbox,
        "ledger": store.ledger,
        "snapshots": store.snapshots,
        "digests": store.digests,
        "inbox": store.inbox,
    }


def build_deps(
    store: Store,
    clock: Clock,
    sources: Sources,
    timing: Timing | None = None,
    breakers: Breakers | None = None,
    *,
    metrics: Metrics | None = None,
    availability: Availability | None = None,
    reachability: Reachability | None = None,
    jobs: Jobs | None = None,
) -> Deps:
    return Deps(
        **repositories(store),
        clock=clock,
        sources=sources,
        holidays=PublicHolidays(),
        availability=availability,
        reachability=reachability,
        timing=timing or Timing(),
        metrics=metrics or NoMetrics(),
        breakers=breakers or Breakers(),
        jobs=jobs or Jobs(),
    )


@dataclass(frozen=True)
class Shared:
    """What every organisation of this process shares: the database (`store`: the organisation
    configured), clock, sources, timing, circuit breakers, metrics, background jobs, and Teams
    (one bot for all; None when no channel is wanted)."""

    settings: Settings
    store: Store
    clock: Clock
    sources: Sources
    timing: Timing = field(default_factory=Timing)
    breakers: Breakers = field(default_factory=Breakers)
    health: Health = field(default_factory=Health)
    jobs: Jobs = field(default_factory=Jobs)
    teams: TeamsChannel | None = None


@dataclass(frozen=True)
class App:
    """One organisation, wired once: its store, its Deps, its channels by kind (`router`, which
    prompts go out through), its Slack if it has one, and when its sources were last read."""

    store: Store
    deps: Deps
    shared: Shared
    router: Router
    slack: SlackChannel | None
    syncs: SyncSchedule


def wire(shared: Shared, store: Store | None = None, slack: SlackChannel | None = None) -> App:
    """An organisation's App (`store`, by default the one configured): the channels first, so
    that the Deps built from them is complete and never replaced."""
    store = store or shared.store
    availability = None
    if slack is not None:
        from bot.channels.slack.channel import SlackAvailability

        availability = SlackAvailability(slack)
    teams = shared.teams
    deps = build_deps(
        store,
        shared.clock,
        shared.sources,
        shared.timing,
        shared.breakers,
        metrics=shared.health,
        availability=availability,
        reachability=teams.refusals if teams else None,  # whom Teams refused: not asked
        jobs=shared.jobs,
    )
    router = Router({TEAMS: teams, SLACK: slack}, by_email={SLACK})  # Teams first, as ever
    syncs = SyncSchedule(timedelta(minutes=shared.settings.goalnudge_sync_minutes))
    return App(store, deps, shared, router, slack, syncs)


def slack_of(
    shared: Shared, store: Store, token: str, stats: ApiStats | None = None
) -> SlackChannel:
    """Slack through `token`, for the people of `store`'s organisation."""
    from bot.channels.slack.channel import SlackChannel, SlackLimits, make_client

    settings = shared.settings
    limits = SlackLimits.of(settings)
    client = make_client(token, settings.slack_api_url, stats, limits.timeout)
    return SlackChannel(client, store.directory, limits)


def configured(shared: Shared) -> App:
    """The organisation configured, with Slack when one bot token (SLACK_BOT_TOKEN) is set."""
    token = shared.settings.slack_bot_token
    return wire(shared, slack=slack_of(shared, shared.store, token) if token else None)


def for_workspace(shared: Shared, found: Installed, stats: ApiStats | None = None) -> App:
    """The organisation of a Slack workspace installed through OAuth (on the one engine), reached
    through its own token; `stats` counts its Slack calls (shared by all workspaces)."""
    store = shared.store.for_org(found.org_slug)
    return wire(shared, store, slack_of(shared, store, found.bot_token, stats))


@asynccontextmanager
async def open_shared(
    settings: Settings, clock: Clock | None = None, channels: bool = True
) -> AsyncIterator[Shared]:
    """The database checked and open, and what every organisation shares; `channels`: with
    Teams (commands that send nothing need no chat platform)."""
    box = SecretBox.from_setting(settings.goalnudge_secret_key)
    store = open_store(settings.database_url, settings.goalnudge_org, box)
    if not await schema_is_current(store.engine):
        await store.close()
        raise ConfigError("the database is not at the latest schema: run `goalnudge db upgrade`")
    sources = registry.sources(settings)
    try:
        await check_secrets(store.scope.sessions, box)
        breakers = Breakers(
            settings.goalnudge_breaker_failures,
            timedelta(seconds=settings.goalnudge_breaker_cooldown_seconds),
        )
        clock = clock or SystemClock()
        teams = None
        if channels:
            from bot.channels.teams.connector import teams_channel

            teams = teams_channel(settings, store.conversations, clock)
        yield Shared(settings, store, clock, sources, timing(settings), breakers, teams=teams)
    finally:
        await store.close()


@asynccontextmanager
async def open_app(settings: Settings, clock: Clock | None = None) -> AsyncIterator[App]:
    """The configured organisation, wired as `serve` runs it: Slack (one bot token), Teams."""
    async with open_shared(settings, clock) as shared:
        yield configured(shared)


async def for_sending(shared: Shared) -> tuple[App, Channel | None]:
    """The configured organisation as a command sends to it, and the channel it sends through:
    its workspace's Slack in OAuth mode, else its channels by kind; None when it has no chat."""
    settings = shared.settings
    if settings.slack_oauth:
        slug = (await shared.store.directory.organisation()).slug
        found = await shared.store.installations.for_org(slug)
        if found is None:
            return wire(shared), None
        app = wire(shared, slack=slack_of(shared, shared.store, found.bot_token))
        return app, app.slack
    app = configured(shared)
    return app, app.router if settings.slack_bot_token or settings.teams_app_id else None
