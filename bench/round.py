"""Round benchmark: one scheduler round for N people who were all asked already this period."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

from fakes.slack_api import FakeSlack  # noqa: E402
from fanout import chart, seed  # noqa: E402

from bot.app import Shared, wire  # noqa: E402
from bot.channels.slack.channel import SlackChannel, make_client  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.core.delivery import deliver  # noqa: E402
from bot.core.deps import FixedClock  # noqa: E402
from bot.core.sources import Sources  # noqa: E402
from bot.server import tick  # noqa: E402
from storage import open_store, upgrade  # noqa: E402

THURSDAY_NOON = datetime(2026, 11, 19, 12, tzinfo=UTC)  # engineers are due (Thursday 10:00)


async def run(people: int, rounds: int, database_url: str) -> dict[str, object]:
    await upgrade(database_url)
    store = open_store(database_url, "bench")
    fake = FakeSlack()
    await fake.start()
    try:
        await seed(store, chart("bench", people), THURSDAY_NOON)  # everyone planned already
        settings = Settings(database_url=database_url)
        app = wire(Shared(settings, store, FixedClock(THURSDAY_NOON), Sources()))
        channel = SlackChannel(make_client("xoxb-bench", fake.url), app.deps.directory)
        await deliver(app.deps, channel)  # and sent: the rounds below find nothing to do
        posts = len(fake.called("chat.postMessage"))
        timings = []
        for _ in range(rounds):
            started = time.perf_counter()
            await tick(app, channel)
            timings.append(time.perf_counter() - started)
        extra = len(fake.called("chat.postMessage")) - posts
    finally:
        await fake.stop()
        await store.close()
    return {
        "bench": "round", "people": people, "rounds": rounds,
        "seconds_median": round(sorted(timings)[len(timings) // 2], 3),
        "seconds_max": round(max(timings), 3), "messages_sent_by_rounds": extra,
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.people < 1 or args.rounds < 1:
        parser.error("--people and --rounds must be at least 1")
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'round.db'}"
        result = asyncio.run(run(args.people, args.rounds, url))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
