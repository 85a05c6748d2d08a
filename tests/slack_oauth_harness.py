"""Goalnudge in Slack OAuth mode against a fake Slack where two workspaces can install it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import slack_requests as sr
from conftest import Running, running
from cryptography.fernet import Fernet
from fakes.slack_api import Call, FakeSlack
from slack_harness import PEOPLE, SECRET, Slack
from sqlalchemy import text
from yarl import URL

from bot.cli import import_org
from bot.config import Settings
from bot.demo import SAMPLE_DATA, SAMPLE_ORG
from bot.server import WORKSPACES, workspace_rounds
from storage import upgrade

KEY = Fernet.generate_key().decode()
CLIENT_ID = "1111.2222"
TOKENS = {"T1": "xoxb-T1-acme-token", "T2": "xoxb-T2-globex-token"}
NAMES = {"T1": "Acme", "T2": "Globex"}
COOKIE = "slack-app-oauth-state"


@dataclass
class Install:
    on: Running
    slack: Slack  # signed requests to /slack/events, the fake's calls, the clock
    settings: Settings

    @property
    def fake(self) -> FakeSlack:
        return self.slack.fake

    async def start(self) -> tuple[URL, str]:
        """GET /slack/install: where it sends the browser (Slack), and the cookie it sets."""
        started = await self.on.http.get(f"{self.on.base}/slack/install", allow_redirects=False)
        assert started.status == 302
        return URL(started.headers["Location"]), started.cookies[COOKIE].value

    async def back(self, code: str, state: str | None, cookie: str | None) -> tuple[int, str]:
        """Slack sends the admin's browser back to /slack/oauth_redirect."""
        params = {"code": code} | ({"state": state} if state else {})
        headers = {"Cookie": f"{COOKIE}={cookie}"} if cookie else {}
        async with self.on.http.get(
            f"{self.on.base}/slack/oauth_redirect", params=params, headers=headers
        ) as response:
            return response.status, await response.text()

    async def workspace(self, team: str, org_file: Path | None = None) -> None:
        authorize, cookie = await self.start()
        status, page = await self.back(f"code-{team}", authorize.query["state"], cookie)
        assert status == 200, page
        if org_file is not None:
            settings = self.settings.model_copy(update={"goalnudge_org": f"slack-{team}"})
            assert await import_org(org_file, settings) == 0

    async def both(self, tmp_path: Path) -> None:
        """Acme (T1) and Globex (T2) installed, each with its org file imported."""
        await self.workspace("T1", SAMPLE_ORG)
        await self.workspace("T2", globex(tmp_path))

    async def monday_round(self) -> Call:
        """Every workspace's round on Monday 16:30 in New York; returns Alice's nudge in T2."""
        self.slack.at("2026-11-16 16:30", "America/New_York")
        await workspace_rounds(self.on.web_app[WORKSPACES])
        return next(
            c for c in self.fake.called("chat.postMessage") if c.params["channel"] == "WALICE"
        )

    async def goals(self, user: str, team: str = "T1") -> str:
        """What `/goals` answers `user` of workspace `team`."""
        request = sr.slash_command(user, "/goals", "", secret=SECRET, team_id=team)
        return await (await self.slack.post(request)).text()

    async def raw_tokens(self) -> list[str]:
        async with self.on.app.store.engine.connect() as connection:
            found = await connection.scalars(
                text("SELECT bot_token_encrypted FROM slack_installations")
            )
            return list(found)

    async def organisations(self) -> list[str]:
        async with self.on.app.store.engine.connect() as connection:
            return list(
                await connection.scalars(text("SELECT slug FROM organisations ORDER BY slug"))
            )


@asynccontextmanager
async def oauth_app(tmp_path: Path) -> AsyncIterator[Install]:
    """goalnudge serving in OAuth mode against a fake Slack in which two workspaces can install."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'oauth.db'}"
    await upgrade(url)
    async with FakeSlack() as fake:
        for team, token in TOKENS.items():
            fake.add_workspace(team, NAMES[team], token, code=f"code-{team}")
        for user, name in PEOPLE.items():  # the same people are in both workspaces
            fake.add_user(user, f"{name}@acme.example", team="T1")
            fake.add_user("W" + user[1:], f"{name}@acme.example", team="T2")
        settings = Settings(
            database_url=url,
            slack_client_id=CLIENT_ID,
            slack_client_secret="client-secret",
            slack_signing_secret=SECRET,
            goalnudge_secret_key=KEY,
            slack_api_url=fake.url,
            goalnudge_sample_data=SAMPLE_DATA,
        )
        async with running(settings) as on:
            slack = Slack(fake, on.app, on.channel, on.clock, f"{on.base}/slack/events", on.http)
            yield Install(on, slack, settings)


def globex(tmp_path: Path) -> Path:
    """The second workspace's org file: the same people, other goals."""
    path = tmp_path / "globex.yaml"
    text_ = SAMPLE_ORG.read_text().replace("slug: acme", "slug: globex")
    path.write_text(text_.replace("Acme Payments", "Globex").replace("New ARR", "Globex ARR"))
    return path
