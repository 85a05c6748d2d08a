"""Shared fixtures: a real database per test (SQLite and a throwaway PostgreSQL), the sample org."""

from __future__ import annotations

import itertools
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

sys.path.insert(0, str(Path(__file__).parent))

from pgserver import PostgresServer

from bot.app import App, build_deps, open_app
from bot.channels.console import ConsoleChannel
from bot.config import Settings
from bot.core.channel import Channel
from bot.core.deps import Deps, FixedClock
from bot.demo import SAMPLE_DATA, SAMPLE_ORG, Demo
from bot.orgfile import load_file
from bot.server import build_web_app
from integrations.sample import SampleCrm, SampleTracker
from storage import Store, open_store, upgrade

NUMBERS = itertools.count(1)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    with PostgresServer() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each kind; PostgreSQL is a real server the tests start."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
    server: PostgresServer = request.getfixturevalue("pg_server")
    return server.create_database(f"test_{next(NUMBERS)}")


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    await upgrade(db_url)
    opened = open_store(db_url, "acme")
    await opened.directory.import_chart(load_file(SAMPLE_ORG).chart)
    yield opened
    await opened.close()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 16, 8, 0, tzinfo=UTC))


@pytest.fixture
def deps(store: Store, clock: FixedClock) -> Deps:
    return build_deps(store, clock, SampleCrm(SAMPLE_DATA), SampleTracker(SAMPLE_DATA))


class Conversation(Demo):
    """The demo's driver, keeping everything said as a transcript to read back."""

    def __init__(self, deps: Deps, clock: FixedClock) -> None:
        self.lines: list[str] = []
        super().__init__(deps, clock, ConsoleChannel(self.lines.append, clock), self.lines.append)

    def said(self) -> str:
        """Everything said since the last call."""
        text = "\n".join(self.lines)
        self.lines.clear()
        return text


@pytest.fixture
def chat(deps: Deps, clock: FixedClock) -> Conversation:
    return Conversation(deps, clock)


async def sample_database(path: Path | str) -> str:
    """A migrated database holding the sample organisation, a SQLite file at `path` or the
    database a URL names; returns its URL."""
    url = path if isinstance(path, str) else f"sqlite+aiosqlite:///{path}"
    await upgrade(url)
    opened = open_store(url, "acme")
    await opened.directory.import_chart(load_file(SAMPLE_ORG).chart)
    await opened.close()
    return url


@dataclass
class Running:
    """The real web app on a local port, with a fixed clock, and a client session to call it."""

    app: App
    channel: Channel
    clock: FixedClock
    base: str
    http: aiohttp.ClientSession
    web_app: web.Application


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Running]:
    clock = FixedClock(datetime(2026, 11, 16, 8, tzinfo=UTC))
    async with open_app(settings, clock) as app:
        web_app, channel = build_web_app(settings, app)
        server = TestServer(web_app, host="127.0.0.1")
        await server.start_server()
        async with aiohttp.ClientSession() as http:
            base = str(server.make_url("/")).rstrip("/")
            yield Running(app, channel, clock, base, http, web_app)
        await server.close()
