"""Slack OAuth for many workspaces: slack_sdk's installation and state stores on our database,
and the pages the installing admin sees."""

from __future__ import annotations

import html
import logging
from datetime import UTC, datetime

from slack_bolt.error import BoltError
from slack_bolt.oauth.async_callback_options import (
    AsyncCallbackOptions,
    AsyncFailureArgs,
    AsyncSuccessArgs,
)
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.response import BoltResponse
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore

from bot.config import Settings
from storage import Store
from storage.installations import Installed, SqlInstallations, SqlOAuthStates

log = logging.getLogger("goalnudge.slack.oauth")
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
# The bot scopes of manifests/slack.yml (a test keeps the two the same); SLACK_SCOPES overrides.
BOT_SCOPES = (
    "chat:write",
    "im:write",
    "im:history",
    "commands",
    "users:read",
    "users:read.email",
    "chat:write.public",
)
STALE = (
    "This install link is no longer valid (it expired, was used already, or was opened in "
    f"another browser). Nothing was installed. Start again at {INSTALL_PATH}."
)
REFUSALS = {
    "access_denied": "The install was cancelled in Slack. Nothing was installed.",
    "invalid_browser": STALE,
    "invalid_state": STALE,
    "missing_code": f"Slack did not confirm the install. Start again at {INSTALL_PATH}.",
    "invalid_code": f"Slack did not confirm the install. Start again at {INSTALL_PATH}.",
}


def workspace_slug(team_id: str) -> str:
    """The organisation a workspace becomes when it is first installed."""
    return f"slack-{team_id}"


class InstallationStore(AsyncInstallationStore):
    """One installation per workspace (the bot's); the installing user's token is not kept."""

    def __init__(self, installations: SqlInstallations, timezone: str) -> None:
        self.installations = installations
        self.timezone = timezone

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_save(self, installation: Installation) -> None:
        team = installation.team_id
        if installation.is_enterprise_install or not team:
            raise BoltError("goalnudge is installed in each workspace, not organisation-wide")
        if not installation.bot_token:
            raise BoltError("Slack gave no bot token: check the app's bot scopes")
        if installation.bot_refresh_token:
            raise BoltError(
                "token rotation is on for this Slack app; turn it off (OAuth & Permissions), "
                "goalnudge keeps each workspace's bot token"
            )
        await self.installations.save(
            Installed(
                team_id=team,
                team_name=installation.team_name or team,
                bot_token=installation.bot_token,
                org_slug=workspace_slug(team),
                bot_user_id=installation.bot_user_id,
                bot_id=installation.bot_id,
                app_id=installation.app_id,
                enterprise_id=installation.enterprise_id,
                bot_scopes=",".join(installation.bot_scopes or []),
                installer_user_id=installation.user_id,
                installed_at=datetime.fromtimestamp(installation.installed_at, UTC),
            ),
            self.timezone,
        )

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        found = await self.installations.find(team_id) if team_id else None
        if found is None:
            return None
        return Bot(
            app_id=found.app_id,
            enterprise_id=found.enterprise_id,
            team_id=found.team_id,
            team_name=found.team_name,
            bot_token=found.bot_token,
            bot_id=found.bot_id or "",
            bot_user_id=found.bot_user_id or "",
            bot_scopes=found.bot_scopes,
            installed_at=found.installed_at or datetime.now(UTC),
        )

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        if team_id:
            await self.installations.delete(team_id)

    async def async_delete_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
    ) -> None:
        if user_id is None:  # a user's own grant: there is none kept to delete
            await self.async_delete_bot(enterprise_id=enterprise_id, team_id=team_id)


class StateStore(AsyncOAuthStateStore):
    def __init__(self, states: SqlOAuthStates) -> None:
        self.states = states

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_issue(self, *args: object, **kwargs: object) -> str:
        return await self.states.issue()

    async def async_consume(self, state: str) -> bool:
        return await self.states.consume(state)


def page(status: int, title: str, text: str) -> BoltResponse:
    body = (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>goalnudge: {html.escape(title)}</title></head>"
        f"<body><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p></body></html>\n"
    )
    return BoltResponse(status=status, body=body, headers={"Content-Type": "text/html"})


class InstallPages:
    def __init__(self, installations: SqlInstallations) -> None:
        self.installations = installations

    async def installed(self, args: AsyncSuccessArgs) -> BoltResponse:
        found = await self.installations.find(args.installation.team_id or "")
        name = found.team_name if found else "your workspace"
        slug = found.org_slug if found else "?"
        return page(
            200,
            "goalnudge is installed",
            f"goalnudge is installed in {name}. To start the check-ins, the person who runs "
            f"goalnudge imports this workspace's org file: "
            f"GOALNUDGE_ORG={slug} goalnudge org import org.yaml",
        )

    async def refused(self, args: AsyncFailureArgs) -> BoltResponse:
        log.warning("Slack install refused: %s", args.reason)
        text = REFUSALS.get(args.reason)
        if text is None:
            text = f"The install could not be completed ({args.reason}): {args.error or ''}"
        return page(args.suggested_status_code, "goalnudge was not installed", text.strip(": "))


def oauth_settings(settings: Settings, store: Store) -> AsyncOAuthSettings:
    scopes = settings.slack_scopes.split(",") if settings.slack_scopes else list(BOT_SCOPES)
    pages = InstallPages(store.installations)
    return AsyncOAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret,
        scopes=[scope.strip() for scope in scopes if scope.strip()],
        user_scopes=[],
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
        install_page_rendering_enabled=False,  # straight to Slack's authorize page
        callback_options=AsyncCallbackOptions(success=pages.installed, failure=pages.refused),
        installation_store=InstallationStore(store.installations, settings.goalnudge_timezone),
        installation_store_bot_only=True,
        state_store=StateStore(store.oauth_states),
        state_expiration_seconds=int(store.oauth_states.ttl.total_seconds()),
    )
