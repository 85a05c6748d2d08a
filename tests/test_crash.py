"""Kill `goalnudge serve` (SIGKILL) in the middle of a fan-out; after a restart everyone has
exactly one nudge."""

from __future__ import annotations

import asyncio
import signal
import time as clock
from collections import Counter
from datetime import date, time
from pathlib import Path

from fakes.slack_api import FakeSlack
from test_serve import serve_env, spawn

from bot.core.model import (
    Identities,
    KeyResult,
    KrKind,
    Objective,
    Organisation,
    OrgChart,
    Person,
    Role,
)
from storage import open_store, upgrade

PEOPLE = 200
EVERY_DAY = tuple(range(7))


async def seed(url: str) -> None:
    people = tuple(
        Person(
            f"eng{i}@acme.example",
            f"Engineer {i}",
            Role.ENGINEERING,
            "UTC",
            working_days=EVERY_DAY,
            ids=Identities.of(slack=f"U{i:04d}"),
            checkin_days=EVERY_DAY,
            checkin_at=time(0, 0),
        )
        for i in range(PEOPLE)
    )
    objective = Objective("ship", "Ship things", date(2026, 10, 1), date(2026, 12, 31))
    krs = tuple(
        KeyResult(
            f"kr{i}",
            "ship",
            f"Milestone {i}",
            p.email,
            KrKind.MILESTONE,
            unit="%",
            due=date(2026, 12, 31),
            confidence=70,
        )
        for i, p in enumerate(people)
    )
    await upgrade(url)
    store = open_store(url, "acme")
    await store.directory.import_chart(
        OrgChart(Organisation("acme", "Acme"), people, (), (objective,), krs)
    )
    await store.close()


async def test_a_killed_fan_out_resumes_without_losing_or_repeating_anyone(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'crash.db'}"
    await seed(url)
    async with FakeSlack() as fake:
        fake.delay = 0.2  # 8 sends in flight: about 40 a second, so the kill lands mid-fan-out
        env = serve_env(
            url,
            SLACK_BOT_TOKEN="xoxb-t",
            SLACK_SIGNING_SECRET="s",
            SLACK_API_URL=fake.url,
            GOALNUDGE_TICK_SECONDS="1",
            # The rows cut off mid-send are looked up in each DM's history before any resend;
            # this fake does not limit conversations.history, so neither does the bot here.
            SLACK_HISTORY_LOOKUPS_PER_MINUTE="10000",
        )
        first = await spawn(env, tmp_path / "serve.log", tmp_path)
        # Start-up and the first round take seconds on a busy machine: wait on the sends, not
        # a fixed number of tries (the process dying ends the wait too).
        deadline = clock.monotonic() + 90
        while clock.monotonic() < deadline and first.returncode is None:
            if len(fake.called("chat.postMessage")) >= 40:
                break
            await asyncio.sleep(0.02)
        first.send_signal(signal.SIGKILL)
        await first.wait()
        cut = len(fake.called("chat.postMessage"))
        assert 40 <= cut < PEOPLE  # killed in the middle of the fan-out
        second = await spawn(env, tmp_path / "serve.log", tmp_path)
        try:
            deadline = clock.monotonic() + 120
            while clock.monotonic() < deadline and second.returncode is None:
                if len({c.params["channel"] for c in fake.called("chat.postMessage")}) >= PEOPLE:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(2)  # more rounds: nothing may be sent twice
        finally:
            second.send_signal(signal.SIGTERM)
            await asyncio.wait_for(second.wait(), 20)
    counts = Counter(c.params["channel"] for c in fake.called("chat.postMessage"))
    assert len(counts) == PEOPLE, (tmp_path / "serve.log").read_text()[-2000:]
    assert set(counts.values()) == {1}
