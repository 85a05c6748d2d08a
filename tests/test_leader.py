"""Two real `goalnudge serve` processes on one real PostgreSQL: one leads, nobody is asked twice."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from pathlib import Path

from fakes.slack_api import FakeSlack
from pgserver import PostgresServer
from test_serve import serve_env, spawn

from bot.demo import SAMPLE_DATA, SAMPLE_ORG
from bot.orgfile import load_text
from storage import open_store, upgrade

USERS = {
    "UALICE": "alice",
    "UBOB": "bob",
    "UERIN": "erin",
    "UFARID": "farid",
    "UGRACE": "grace",
    "USAM": "sam",
    "UMAYA": "maya",
    "ULENA": "lena",
}
EVERY_DAY = "[mon, tue, wed, thu, fri, sat, sun]"


async def seed(url: str) -> None:
    """The sample organisation, asked every day from midnight, so that everyone is due now."""
    # Whatever the real date and time: no quiet hours, no holidays, every day from midnight.
    lines = SAMPLE_ORG.read_text().splitlines(keepends=True)
    text = "".join(
        line
        for line in lines
        if not line.lstrip().startswith(("working_days:", "quiet_hours:", "country:"))
    )
    text = text.replace(
        "    role: sales\n",
        f"    role: sales\n    working_days: {EVERY_DAY}\n"
        f'    checkin: {{days: {EVERY_DAY}, at: "00:00"}}\n',
    )
    text = text.replace(
        "    role: engineering\n",
        f"    role: engineering\n    working_days: "
        f'{EVERY_DAY}\n    checkin: {{days: {EVERY_DAY}, at: "00:00"}}\n',
    )
    await upgrade(url)
    store = open_store(url, "acme")
    await store.directory.import_chart(load_text(text).chart)
    await store.close()


async def test_one_leader_exactly_once_and_a_takeover(
    pg_server: PostgresServer, tmp_path: Path
) -> None:
    url = pg_server.create_database("leader")
    await seed(url)
    async with FakeSlack() as fake:
        for user, name in USERS.items():
            fake.add_user(user, f"{name}@acme.example")
        env = serve_env(
            url,
            SLACK_BOT_TOKEN="xoxb-t",
            SLACK_SIGNING_SECRET="s",
            SLACK_API_URL=fake.url,
            GOALNUDGE_TICK_SECONDS="1",
            GOALNUDGE_SAMPLE_DATA=str(SAMPLE_DATA),
        )
        logs = [tmp_path / f"serve{i}.log" for i in (0, 1)]
        processes = [await spawn(env, log, tmp_path) for log in logs]
        try:
            askees = {"UALICE", "UBOB", "UERIN", "UFARID", "UGRACE"}
            for _ in range(300):
                sent = {c.params["channel"] for c in fake.called("chat.postMessage")}
                if askees <= sent:
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(3)  # a few more rounds on both processes: nothing may repeat
            counts = Counter(c.params["channel"] for c in fake.called("chat.postMessage"))
            assert {user: counts[user] for user in askees} == dict.fromkeys(askees, 1)
            leading = [
                i for i, log in enumerate(logs) if "now runs the scheduler" in log.read_text()
            ]
            assert len(leading) == 1, [log.read_text() for log in logs]
            leader, follower = processes[leading[0]], processes[1 - leading[0]]
            leader.send_signal(signal.SIGKILL)
            await leader.wait()
            for _ in range(600):
                if "now runs the scheduler" in logs[1 - leading[0]].read_text():
                    break
                await asyncio.sleep(0.1)
            assert "now runs the scheduler" in logs[1 - leading[0]].read_text()
            counts = Counter(c.params["channel"] for c in fake.called("chat.postMessage"))
            assert {user: counts[user] for user in askees} == dict.fromkeys(askees, 1)
        finally:
            for process in processes:
                if process.returncode is None:
                    process.send_signal(signal.SIGTERM)
                    await asyncio.wait_for(process.wait(), 20)
        assert follower.returncode == 0
