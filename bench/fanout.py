"""Fan-out benchmark: N people due at once, sent through the real sender to the fake Slack API."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import resource
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fakes.slack_api import FakeSlack  # noqa: E402

from bot.app import build_deps  # noqa: E402
from bot.channels.slack.channel import SlackChannel, make_client  # noqa: E402
from bot.core.delivery import deliver  # noqa: E402
from bot.core.deps import SystemClock  # noqa: E402
from bot.core.model import (  # noqa: E402
    CheckIn,
    CheckInKind,
    CheckInState,
    Identities,
    KeyResult,
    KrKind,
    Objective,
    Organisation,
    OrgChart,
    Person,
    Role,
)
from bot.core.planned import PromptFacts, WeeklyCheck  # noqa: E402
from bot.core.playbooks import item  # noqa: E402
from bot.core.prompts import ActionId  # noqa: E402
from bot.core.sources import Sources  # noqa: E402
from storage import Store, open_store, upgrade  # noqa: E402

PERIOD = "2026-W47"
ACTIONS = (ActionId.ON_TRACK, ActionId.FLAG_RISK, ActionId.SNOOZE)
EVERY_DAY = tuple(range(7))
MAX_ROUNDS = 1000  # deliver() rounds before the bench gives up on rows still planned
log = logging.getLogger("bench.fanout")


def email(i: int) -> str:
    return f"eng{i}@bench.example"


def user(i: int) -> str:
    return f"U{i:05d}"


def chart(slug: str, n: int) -> OrgChart:
    """N engineers, each owning one manual milestone key result."""
    people = tuple(
        Person(email(i), f"Engineer {i}", Role.ENGINEERING, "UTC", working_days=EVERY_DAY,
               ids=Identities.of(slack=user(i)))
        for i in range(n)
    )  # fmt: skip
    objective = Objective("ship", "Ship things", date(2026, 10, 1), date(2026, 12, 31))
    krs = tuple(
        KeyResult(f"kr{i}", "ship", f"Milestone {i}", email(i), KrKind.MILESTONE, unit="%",
                  due=date(2026, 12, 31), confidence=70)
        for i in range(n)
    )  # fmt: skip
    return OrgChart(Organisation(slug, "Bench"), people, (), (objective,), krs)


async def seed(store: Store, org: OrgChart, now: datetime) -> None:
    """The organisation, and one planned confidence check per person (outside the timing)."""
    await store.directory.import_chart(org)
    for kr in org.key_results:
        body = PromptFacts((item(kr),), ACTIONS, WeeklyCheck(kr.confidence))
        row = CheckIn(kr.owner, CheckInKind.CONFIDENCE_CHECK, PERIOD, CheckInState.PLANNED, now,
                      body)  # fmt: skip
        if await store.outbox.add(row) is None:
            raise SystemExit(f"bench: could not add the check-in for {kr.owner}")


async def run(args: argparse.Namespace, database_url: str) -> dict[str, object]:
    n: int = args.people
    slug = f"bench-{time.time_ns()}"
    await upgrade(database_url)
    store = open_store(database_url, slug)
    fake = FakeSlack()  # in this process and event loop: its work is inside `seconds`
    await fake.start()
    try:
        await seed(store, chart(slug, n), datetime.now(UTC))
        deps = build_deps(store, SystemClock(), Sources())
        channel = SlackChannel(make_client("xoxb-bench", fake.url), deps.directory)
        fake.throttle(args.throttle)
        rounds = failures = 0
        started = time.perf_counter()
        while rounds < MAX_ROUNDS:
            rounds += 1
            delivered = await deliver(deps, channel, limit=n)
            failures += len(delivered.failed)
            if not await deps.outbox.in_state(CheckInState.PLANNED):
                break
        seconds = time.perf_counter() - started
        unsent = len(await deps.outbox.in_state(CheckInState.PLANNED))
        unsent += len(await deps.outbox.in_state(CheckInState.SENDING))
    finally:
        await fake.stop()
        await store.close()
    # A successful chat.postMessage is the only call that adds to the fake's history; 429s do not.
    posts = [len(fake.history.get(f"D{user(i)}", [])) for i in range(n)]
    attempts = len(fake.called("chat.postMessage"))
    # The fake's bucket starts full (one second of calls), so that many go at once for free.
    bound = max(0.0, n - args.throttle) / args.throttle if args.throttle else None
    return {
        "bench": "fanout", "people": n, "throttle": args.throttle, "seconds": round(seconds, 3),
        "per_second": round(n / seconds, 1),
        "lower_bound_seconds": round(bound, 3) if bound is not None else None,
        "ratio": round(seconds / bound, 3) if bound else None,
        "lost": sum(p == 0 for p in posts), "duplicated": sum(p > 1 for p in posts),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rate_limited": attempts - sum(posts), "failed_sends": failures, "rounds": rounds,
        "unsent_rows": unsent,
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--throttle", type=float, help="chat.postMessage calls/s the fake allows")
    args = parser.parse_args()
    if args.people < 1 or (args.throttle is not None and args.throttle <= 0):
        parser.error("--people must be at least 1 and --throttle positive")
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        result = asyncio.run(run(args, f"sqlite+aiosqlite:///{Path(tmp) / 'fanout.db'}"))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
