"""Teams with TEAMS_APP_ID: tokens minted as the Bot Connector mints them, checked against a
fake OpenID provider; every bad token is a 401 (never a 500), and key fetching never blocks."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import teams_activities as ta
from conftest import Running, running, sample_database
from fakes.openid import FakeOpenId, SigningKey
from test_teams import MAYA, PLATFORM

from bot.config import Settings
from bot.demo import SAMPLE_DATA

SERVICE_URL = "https://smba.trafficmanager.net/amer/"


@dataclass
class Authed:
    openid: FakeOpenId
    on: Running

    async def post(self, auth: str | None, activity: dict[str, Any] | None = None) -> int:
        activity = activity or ta.conversation_update_members_added(
            MAYA, service_url=SERVICE_URL, team=PLATFORM
        )
        headers = {"Content-Type": "application/json"} | ({"Authorization": auth} if auth else {})
        url = f"{self.on.base}/api/messages"
        async with self.on.http.post(url, data=json.dumps(activity), headers=headers) as r:
            return r.status

    def token(self, **kwargs: Any) -> str:
        return self.openid.token(ta.BOT_APP_ID, SERVICE_URL, **kwargs)

    async def installed(self) -> bool:
        return await self.on.app.store.conversations.get("teams", "Platform") is not None


@asynccontextmanager
async def serve(tmp_path: Path, metadata_url: str) -> AsyncIterator[Running]:
    url = await sample_database(tmp_path / "auth.db")
    settings = Settings(
        database_url=url,
        goalnudge_sample_data=SAMPLE_DATA,
        teams_app_id=ta.BOT_APP_ID,
        teams_app_password="not-a-real-password",
        teams_openid_metadata_url=metadata_url,
    )
    async with running(settings) as on:
        yield on


@pytest.fixture
async def openid() -> AsyncIterator[FakeOpenId]:
    fake = FakeOpenId()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def authed(tmp_path: Path, openid: FakeOpenId) -> AsyncIterator[Authed]:
    async with serve(tmp_path, openid.url) as on:
        yield Authed(openid, on)


async def test_each_bad_token_is_a_401_and_a_good_one_is_let_in(
    authed: Authed, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    unpublished = SigningKey("unpublished-1", ["msteams"])
    bad = {
        "no Authorization header": None,
        "not a JWT": "Bearer not-a-token",
        "unknown kid": authed.token(key=unpublished),
        "no kid": authed.token(kid=None),
        "HS256 naming a published kid": authed.openid.hs256_token(ta.BOT_APP_ID, SERVICE_URL),
        "a key that does not endorse msteams": authed.token(key=authed.openid.webchat_key),
        "expired": authed.token(lifetime=-3600),
        "wrong audience": authed.openid.token("another-bot", SERVICE_URL),
        "another service URL": authed.openid.token(ta.BOT_APP_ID, "https://evil.example/"),
        "signed by a key posing as a published kid": authed.token(
            key=unpublished, kid="teams-key-1"
        ),
    }
    deadline = time.monotonic() + 10  # the keys are fetched in the background at start-up
    while authed.openid.keys_fetches == 0 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    for why, auth in bad.items():
        assert await authed.post(auth) == 401, why
    assert not await authed.installed()
    while await authed.post(authed.token()) == 401 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)  # the fetched keys are in memory a moment after they came
    assert await authed.installed()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert authed.openid.metadata_fetches == 1


async def test_a_slow_then_failing_key_endpoint_blocks_nothing(
    tmp_path: Path, openid: FakeOpenId
) -> None:
    openid.delay, openid.status = 2.0, 503
    async with serve(tmp_path, openid.url) as on:
        authed = Authed(openid, on)
        health_times: list[float] = []

        async def health() -> None:
            for _ in range(10):
                started = time.monotonic()
                async with on.http.get(f"{on.base}/healthz") as r:
                    assert r.status == 200
                health_times.append(time.monotonic() - started)
                await asyncio.sleep(0.2)

        probing = asyncio.create_task(health())
        refusals: list[float] = []
        for _ in range(5):
            started = time.monotonic()
            assert await authed.post(authed.token()) == 401
            refusals.append(time.monotonic() - started)
        await probing
        assert max(refusals) < 1 and max(health_times) < 0.5  # the endpoint takes 2 s
        assert openid.metadata_fetches == 1 and openid.keys_fetches == 0


async def test_without_tokens_the_fetch_is_never_tried_by_a_request(tmp_path: Path) -> None:
    """A request with a token while no keys were ever fetched is refused, and quickly, even
    when the metadata endpoint does not answer at all (nothing listens there)."""
    openid = FakeOpenId()  # not started: only its tokens are used
    nowhere = "http://127.0.0.1:9/v1/.well-known/openidconfiguration"
    async with serve(tmp_path, nowhere) as on, aiohttp.ClientSession() as http:
        started = time.monotonic()
        activity = ta.conversation_update_members_added(
            MAYA, service_url=SERVICE_URL, team=PLATFORM
        )
        headers = {
            "Content-Type": "application/json",
            "Authorization": openid.token(ta.BOT_APP_ID, SERVICE_URL),
        }
        async with http.post(
            f"{on.base}/api/messages", data=json.dumps(activity), headers=headers
        ) as r:
            assert r.status == 401
        assert time.monotonic() - started < 1
