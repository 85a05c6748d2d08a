"""A running goalnudge with Slack configured, against the fake Slack: shared by the Slack tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import slack_requests as sr
from conftest import running, sample_database
from fakes.slack_api import Call, FakeSlack

from bot.app import App
from bot.config import Settings
from bot.core.channel import Channel
from bot.core.deps import FixedClock
from bot.demo import SAMPLE_DATA
from bot.server import tick

HOOKS = sr.HOOKS

SECRET = "signing-secret-for-tests"
PEOPLE = {
    "UALICE": "alice",
    "UBOB": "bob",
    "USAM": "sam",
    "UERIN": "erin",
    "UMAYA": "maya",
    "UFARID": "farid",
    "UGRACE": "grace",
    "ULENA": "lena",
}


@dataclass
class Slack:
    fake: FakeSlack
    app: App
    channel: Channel
    clock: FixedClock
    url: str
    http: aiohttp.ClientSession

    async def post(self, request: tuple[str, dict[str, str]]) -> aiohttp.ClientResponse:
        body, headers = request
        response = await self.http.post(self.url, data=body.encode(), headers=headers)
        await response.read()
        return response

    async def wait_for(self, method: str, count: int = 1) -> list[Call]:
        """Listeners run after the ack: wait (bounded) for their Web API calls."""
        for _ in range(300):
            if len(self.fake.called(method)) >= count:
                break
            await asyncio.sleep(0.01)
        return self.fake.called(method)

    def at(self, when: str, zone: str) -> None:
        self.clock.set(datetime.fromisoformat(when).replace(tzinfo=ZoneInfo(zone)))


@asynccontextmanager
async def slack_app(
    tmp_path: Path, database_url: str | None = None, **extra: Any
) -> AsyncIterator[Slack]:
    """The real server with Slack configured against a fresh fake Slack and the sample org
    (in SQLite, or in the empty database `database_url` names); `extra`: more settings (say, a
    Jira to talk to)."""
    url = await sample_database(database_url or tmp_path / "slack.db")
    fake = FakeSlack()
    await fake.start()
    for user, name in PEOPLE.items():
        fake.add_user(user, f"{name}@acme.example")
    settings = Settings(
        database_url=url,
        slack_bot_token="xoxb-test",
        slack_signing_secret=SECRET,
        slack_api_url=fake.url,
        goalnudge_sample_data=SAMPLE_DATA,
        **extra,
    )
    sr.HOOKS = fake.hooks  # clicks built by this test answer through this fake
    try:
        async with running(settings) as on:
            yield Slack(fake, on.app, on.channel, on.clock, f"{on.base}/slack/events", on.http)
    finally:
        sr.HOOKS = HOOKS
        await fake.stop()


def button_value(call: Call, action_id: str) -> str:
    for block in call.params["blocks"]:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                return str(element["value"])
    raise AssertionError(f"no {action_id} button in {call.params['blocks']}")


async def nudge_alice(slack: Slack) -> Call:
    slack.at("2026-11-16 16:30", "America/New_York")
    await tick(slack.app, slack.channel)
    [nudge] = [c for c in slack.fake.called("chat.postMessage") if c.params["channel"] == "UALICE"]
    return nudge
