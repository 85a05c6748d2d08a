"""Slack workspaces installed through OAuth, each its own organisation: its App (wired by the
composition root) and its listeners, built once per bot token."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from slack_bolt.async_app import AsyncBoltContext

from bot.app import App, Shared, for_workspace
from bot.channels.base import ApiStats
from bot.channels.slack.channel import SlackChannel
from bot.channels.slack.edge import SlackEdge
from bot.channels.slack.listeners import PLATFORM, SlackBot
from bot.core.delivery import deliver
from bot.core.errors import ConfigError
from bot.core.inbox import Worker
from storage.installations import Installed


@dataclass
class Workspace:
    team_id: str
    token: str
    app: App
    channel: SlackChannel
    bot: SlackBot


class Workspaces:
    def __init__(self, shared: Shared, worker: Worker) -> None:
        self.shared = shared
        self.worker = worker
        self._built: dict[str, Workspace] = {}
        self.stats = ApiStats()  # every workspace's Slack calls, for /metrics

    def _get(self, found: Installed) -> Workspace:
        cached = self._built.get(found.team_id)
        if cached is None or cached.token != found.bot_token:  # new, or installed again
            app = for_workspace(self.shared, found, self.stats)
            channel = app.slack
            assert channel is not None  # for_workspace wires the workspace's Slack
            edge = SlackEdge(app.deps, channel, partial(deliver, app.deps, channel))
            bot = SlackBot(app.deps, channel, edge, self.worker)
            self.worker.add(f"slack:{found.team_id}", app.deps, {PLATFORM: edge})
            cached = Workspace(found.team_id, found.bot_token, app, channel, bot)
            self._built[found.team_id] = cached
        return cached

    async def all(self) -> list[Workspace]:
        """Every workspace installed now, as the database says."""
        return [self._get(found) for found in await self.shared.store.installations.all()]

    async def bot_for(self, context: AsyncBoltContext) -> SlackBot:
        """The listeners of the workspace a request comes from (Bolt has authorised it)."""
        cached = self._built.get(context.team_id or "")
        if cached is not None and cached.token == context.bot_token:
            return cached.bot
        found = await self.shared.store.installations.find(context.team_id or "")
        if found is None:
            raise ConfigError(f"Slack workspace {context.team_id} is not installed")
        return self._get(found).bot
