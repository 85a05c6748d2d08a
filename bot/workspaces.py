"""Slack workspaces installed through OAuth, each its own organisation: its repositories (on the
one engine), its Slack client and its listeners, built once per bot token."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial

from slack_bolt.async_app import AsyncBoltContext

from bot.app import App, for_org
from bot.channels.base import ApiStats
from bot.channels.slack.channel import SlackAvailability, SlackChannel, SlackLimits, make_client
from bot.channels.slack.edge import SlackEdge
from bot.channels.slack.listeners import PLATFORM, SlackBot
from bot.core.delivery import deliver
from bot.core.errors import ConfigError
from bot.core.inbox import Worker
from storage.installations import Installed

OAUTH = SlackLimits(history_lookups=1)  # Slack's limit for distributed non-Marketplace apps


def slack_channel(
    app: App, token: str, api_url: str, stats: ApiStats | None = None, limits: SlackLimits = OAUTH
) -> SlackChannel:
    """The organisation's Slack, through its own workspace's token (and its away statuses)."""
    client = make_client(token, api_url, stats, limits.timeout)
    channel = SlackChannel(client, app.deps.directory, limits)
    app.deps = replace(app.deps, availability=SlackAvailability(channel))
    return channel


@dataclass
class Workspace:
    team_id: str
    token: str
    app: App
    channel: SlackChannel
    bot: SlackBot


class Workspaces:
    def __init__(
        self, root: App, api_url: str, worker: Worker, limits: SlackLimits = OAUTH
    ) -> None:
        self.root = root
        self.worker = worker
        self.api_url = api_url
        self.limits = limits
        self._built: dict[str, Workspace] = {}
        self.stats = ApiStats()  # every workspace's Slack calls, for /metrics

    def _get(self, found: Installed) -> Workspace:
        cached = self._built.get(found.team_id)
        if cached is None or cached.token != found.bot_token:  # new, or installed again
            app = for_org(self.root, found.org_slug)
            channel = slack_channel(app, found.bot_token, self.api_url, self.stats, self.limits)
            edge = SlackEdge(app.deps, channel, partial(deliver, app.deps, channel))
            bot = SlackBot(app.deps, channel, edge, self.worker)
            self.worker.add(f"slack:{found.team_id}", app.deps, {PLATFORM: edge})
            cached = Workspace(found.team_id, found.bot_token, app, channel, bot)
            self._built[found.team_id] = cached
        return cached

    async def all(self) -> list[Workspace]:
        """Every workspace installed now, as the database says."""
        return [self._get(found) for found in await self.root.store.installations.all()]

    async def bot_for(self, context: AsyncBoltContext) -> SlackBot:
        """The listeners of the workspace a request comes from (Bolt has authorised it)."""
        cached = self._built.get(context.team_id or "")
        if cached is not None and cached.token == context.bot_token:
            return cached.bot
        found = await self.root.store.installations.find(context.team_id or "")
        if found is None:
            raise ConfigError(f"Slack workspace {context.team_id} is not installed")
        return self._get(found).bot
