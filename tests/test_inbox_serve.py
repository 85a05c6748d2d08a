"""Acked clicks survive the server: SIGKILL right after the acks, or SIGTERM, then a restart;
every click is applied exactly once and its prompt replaced once."""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from pathlib import Path

import aiohttp
import pytest
import reps
from fakes.slack_api import FakeSlack
from test_serve import free_port, serve_env, spawn

from storage import open_store, upgrade

REPS = 120
SECRET = "inbox-secret"


async def seed(url: str) -> list[int]:
    """REPS reps, each with a sent CRM confirmation; their check-in ids."""
    await upgrade(url)
    return await reps.seed(url, "acme", REPS)


async def up(port: int, process: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + 60
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline and process.returncode is None:
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)
    raise AssertionError("goalnudge serve did not come up")


async def click_all(port: int, ids: list[int], hooks: str) -> None:
    """Every rep clicks Yes (20 at a time); every click must be acked with 200."""
    todo = iter(range(REPS))

    async def worker(http: aiohttp.ClientSession) -> None:
        for i in todo:
            body, headers = reps.click(i, ids[i], hooks, SECRET)
            async with http.post(
                f"http://127.0.0.1:{port}/slack/events", data=body.encode(), headers=headers
            ) as response:
                assert response.status == 200

    async with aiohttp.ClientSession() as http:
        await asyncio.gather(*(worker(http) for _ in range(20)))


async def unapplied(url: str) -> int:
    store = open_store(url, "acme")
    try:
        return await store.inbox.pending()
    finally:
        await store.close()


async def assert_applied_once(url: str, fake: FakeSlack, killed: bool) -> None:
    """Every click applied once, its prompt replaced (once; after a SIGKILL an outcome posted
    just before the kill may be posted again, the same, to the same message)."""
    store = open_store(url, "acme")
    try:
        values = {kr.key: kr.current for kr in await store.directory.key_results()}
        history = Counter(u.kr for u in await store.ledger.updates_since(None))
    finally:
        await store.close()
    assert values == {f"arr-{i}": reps.proposed(i) for i in range(REPS)}
    assert set(history.values()) == {1} and len(history) == REPS
    posts = fake.called("response_url")
    shown = Counter(c.params["path"] for c in posts)
    assert set(shown) == {reps.hook(i) for i in range(REPS)}
    assert max(shown.values()) == 1 or killed
    texts = {(c.params["path"], c.params.get("text")) for c in posts}
    assert len(texts) == REPS  # shown again, it says the same
    assert all("Confirmed" in str(text) for _, text in texts)


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGTERM])
async def test_acked_clicks_are_applied_once_across_a_stop(
    tmp_path: Path, stop: signal.Signals
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}"
    ids = await seed(url)
    async with FakeSlack() as fake:
        fake.delay = 0.05  # outcomes take a while to show: the stop lands with work left
        env = serve_env(
            url, SLACK_BOT_TOKEN="xoxb-t", SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=fake.url,
            GOALNUDGE_TICK_SECONDS="0", PORT=str(port := free_port()),
        )  # fmt: skip
        first = await spawn(env, tmp_path / "serve.log", tmp_path)
        await up(port, first)
        await click_all(port, ids, fake.hooks)
        first.send_signal(stop)
        assert await asyncio.wait_for(first.wait(), 60) == (0 if stop == signal.SIGTERM else -9)
        left = await unapplied(url)
        if stop == signal.SIGKILL:
            assert left > 0, "the kill came after everything was applied: nothing was tested"
        else:
            assert left == 0  # SIGTERM: what was acked is applied before the process exits
        second = await spawn(env, tmp_path / "serve.log", tmp_path)
        try:
            await up(port, second)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and len(fake.called("response_url")) < REPS:
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.5)  # room for a wrong second outcome
        finally:
            second.send_signal(signal.SIGTERM)
            await asyncio.wait_for(second.wait(), 60)
        await assert_applied_once(url, fake, stop == signal.SIGKILL)
