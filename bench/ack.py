"""Ack benchmark: signed Slack button clicks at a `goalnudge serve` child process; ack latency and
exactly-once."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import math
import os
import signal
import socket
import sys
import tempfile
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fakes.slack_api import FakeSlack  # noqa: E402
from reps import Request, click, email, hook, message, proposed, seed  # noqa: E402

from bot.config import Settings  # noqa: E402
from bot.core.model import CheckInState  # noqa: E402
from storage import open_store, upgrade  # noqa: E402

SECRET = "bench-signing-secret"
log = logging.getLogger("bench.ack")
START_SECONDS = 60.0  # for `goalnudge serve` to answer GET /healthz
STOP_SECONDS = 30.0  # for it to exit after SIGTERM
TRACEBACK = "Traceback (most recent call last):"


class ErrorCount(logging.Handler):
    """Counts ERROR records (Bolt logs one for each listener that fails) for the JSON line."""

    count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


async def fire(
    url: str, ids: list[int], width: int, every: int, hooks: str
) -> tuple[list[float], int, int]:
    """Every click, every `every`-th twice: first sends' latencies (ms), repeats sent, non-200s."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    todo = iter(range(len(ids)))  # shared by the workers: at most `width` requests in flight

    async def send(http: aiohttp.ClientSession, request: Request) -> float:
        start = time.perf_counter()
        async with http.post(url, data=request[0].encode(), headers=request[1]) as response:
            await response.read()
        statuses[response.status] += 1
        return (time.perf_counter() - start) * 1000

    async def worker(http: aiohttp.ClientSession) -> None:
        for i in todo:
            request = click(i, ids[i], hooks, SECRET)
            latencies.append(await send(http, request))
            if every and i % every == 0:
                await send(http, request)  # Slack's retry: the same signed body again

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=width)) as http:
        await asyncio.gather(*(worker(http) for _ in range(width)))
    failed = sum(count for status, count in statuses.items() if status != 200)
    return latencies, statuses.total() - len(ids), failed


def outcomes(fake: FakeSlack) -> list[str]:
    """Where outcomes were shown: response_url paths, and chat.update's channel:ts (fallback)."""
    return [str(c.params.get("path")) for c in fake.called("response_url")] + [
        f"{c.params.get('channel')}:{c.params.get('ts')}" for c in fake.called("chat.update")
    ]


async def wait_for_outcomes(fake: FakeSlack, n: int, timeout: float) -> float:
    """Seconds until n outcomes were shown (each after its click was applied), or the timeout."""
    start = deadline = time.monotonic()
    deadline += timeout
    while len(outcomes(fake)) < n and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    return time.monotonic() - start


async def applied_once(url: str, slug: str, fake: FakeSlack, n: int, killed: bool) -> bool:
    """Each key result at its proposed value with one update, each prompt replaced once (after a
    SIGKILL, at least once: an outcome posted just before the kill, and not yet marked shown, is
    posted again, the same, replacing the same message)."""
    store = open_store(url, slug)  # its own connections: the server's pool may still be busy
    try:
        krs = {kr.key: kr.current for kr in await store.directory.key_results()}
        history = Counter(u.kr for u in await store.ledger.updates_since(None))
        answered = {c.person for c in await store.outbox.in_state(CheckInState.ANSWERED)}
    finally:
        await store.close()
    shown = Counter(outcomes(fake))
    places = {i: (hook(i), ":".join(message(i))) for i in range(n)}
    wrong = {
        "value": sum(krs.get(f"arr-{i}") != proposed(i) for i in range(n)),
        "one update": sum(history[f"arr-{i}"] != 1 for i in range(n)),
        "answered": sum(email(i) not in answered for i in range(n)),
        "shown once": sum(
            not (1 <= sum(shown[p] for p in places[i]) <= (n if killed else 1)) for i in range(n)
        ),
        "stray": len(history.keys() - krs.keys())
        + len(shown.keys() - {p for pair in places.values() for p in pair}),
    }
    if any(wrong.values()):
        log.error("not applied exactly once (reps failing each check): %s", wrong)
    return not any(wrong.values())


@dataclass
class Server:
    """`goalnudge serve` as a child process; its output is relayed to our stderr, the tail kept."""

    process: asyncio.subprocess.Process
    url: str
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=30))
    tracebacks: int = 0  # it configures no logging: records are bare messages, errors these

    async def relay(self) -> None:
        assert self.process.stdout is not None
        async for raw in self.process.stdout:
            line = raw.decode(errors="replace").rstrip()
            self.tail.append(line)
            self.tracebacks += line.startswith(TRACEBACK)
            print(f"serve: {line}", file=sys.stderr, flush=True)

    def output(self) -> str:
        return "\n".join(f"  {line}" for line in self.tail) or "  (nothing)"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(settings: Settings, port: int) -> dict[str, str]:
    """Our environment without goalnudge settings of its own, then exactly the bench's."""
    env = {k: v for k, v in os.environ.items() if k.lower() not in Settings.model_fields}
    return env | {
        "DATABASE_URL": settings.database_url, "GOALNUDGE_ORG": settings.goalnudge_org or "",
        "SLACK_BOT_TOKEN": settings.slack_bot_token or "",
        "SLACK_SIGNING_SECRET": settings.slack_signing_secret or "",
        "SLACK_API_URL": settings.slack_api_url, "HOST": "127.0.0.1", "PORT": str(port),
        "GOALNUDGE_TICK_SECONDS": "0", "PYTHONPATH": str(ROOT),
    }  # fmt: skip


async def start_server(settings: Settings) -> tuple[Server, asyncio.Task[None]]:
    """Run `goalnudge serve` and wait until GET /healthz answers 200."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "serve", cwd=ROOT, env=server_env(settings, port),
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    server = Server(process, f"http://127.0.0.1:{port}")
    relay = asyncio.create_task(server.relay())
    deadline = time.monotonic() + START_SECONDS
    async with aiohttp.ClientSession() as http:
        while process.returncode is None and time.monotonic() < deadline:
            try:
                async with http.get(f"{server.url}/healthz") as response:
                    if response.status == 200:
                        return server, relay
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    status = process.returncode
    if status is None:
        process.kill()
        await process.wait()
    await relay
    what = (
        f"did not answer GET /healthz within {START_SECONDS:.0f} s (killed)"
        if status is None
        else f"exited with status {status} before answering GET /healthz"
    )
    raise SystemExit(f"bench: goalnudge serve {what}; its last output:\n{server.output()}")


async def stop_server(server: Server, relay: asyncio.Task[None]) -> int | None:
    """SIGTERM, then its exit status (None: still running after STOP_SECONDS, so killed)."""
    process, status = server.process, server.process.returncode
    if status is None:
        process.send_signal(signal.SIGTERM)
        try:
            status = await asyncio.wait_for(process.wait(), STOP_SECONDS)
        except TimeoutError:
            process.kill()
            await process.wait()
    await relay
    if status is None:
        log.error(
            "goalnudge serve was still running %.0f s after SIGTERM (killed); its last output:\n%s",
            STOP_SECONDS, server.output(),
        )  # fmt: skip
    elif status != 0:
        log.error("goalnudge serve exited with status %s; its last output:\n%s", status,
                  server.output())  # fmt: skip
    return status


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile, rounded to 0.01."""
    ordered = sorted(values)
    return round(ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)], 2)


async def run(
    args: argparse.Namespace, database_url: str, errors: ErrorCount
) -> tuple[dict[str, object], int | None]:
    """The JSON line's fields, and the server's exit status (None: killed after SIGTERM)."""
    slug = f"bench-{time.time_ns()}"  # a new organisation each run, so a shared database works
    fake = FakeSlack()
    await fake.start()
    settings = Settings(
        database_url=database_url, goalnudge_org=slug, slack_bot_token="xoxb-bench",
        slack_signing_secret=SECRET, slack_api_url=fake.url, goalnudge_tick_seconds=0,
    )  # fmt: skip
    try:
        await upgrade(settings.database_url)
        ids = await seed(settings.database_url, slug, args.clicks)
        server, relay = await start_server(settings)
        try:
            url = f"{server.url}/slack/events"
            every = round(100 / args.duplicate_percent) if args.duplicate_percent > 0 else 0
            started = time.perf_counter()
            latencies, repeats, failed = await fire(url, ids, args.concurrency, every, fake.hooks)
            acked = time.perf_counter() - started
            if args.kill:  # right after the last ack: what was acked must survive this
                server.process.kill()
                await server.process.wait()
                await relay
                server, relay = await start_server(settings)
            await wait_for_outcomes(fake, args.clicks, args.timeout)
            applied = time.perf_counter() - started
            await asyncio.sleep(0.5)  # room for a wrong second outcome to show up
            ok = await applied_once(settings.database_url, slug, fake, args.clicks, args.kill)
            ok = ok and failed == 0
        finally:
            status = await stop_server(server, relay)
    finally:
        await fake.stop()
    result = {
        "bench": "ack", "server": "subprocess", "kill": args.kill,
        "database": "postgresql" if database_url.startswith("postgres") else "sqlite",
        "clicks": args.clicks,
        "concurrency": args.concurrency, "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99), "max_ms": round(max(latencies), 2),
        "p99_warm_ms": percentile(latencies[args.concurrency :] or latencies, 99),
        "applied_once": ok, "duplicates_sent": repeats, "failed_requests": failed,
        "responses_seen": len(fake.called("response_url")),
        "shown_again": len(outcomes(fake)) - len(set(outcomes(fake))),
        "updates_seen": len(fake.called("chat.update")),
        "errors_logged": errors.count + server.tracebacks, "acks_seconds": round(acked, 2),
        "applied_seconds": round(applied, 2),
    }  # fmt: skip
    return result, status


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clicks", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temp dir")
    parser.add_argument("--duplicate-percent", type=float, default=5.0, help="clicks sent twice")
    parser.add_argument("--timeout", type=float, default=60.0, help="wait for outcomes (s)")
    parser.add_argument("--kill", action="store_true", help="SIGKILL the server after the acks")
    parser.add_argument(
        "--postgres", action="store_true", help="a throwaway PostgreSQL server (tests/pgserver.py)"
    )
    args = parser.parse_args()
    if args.clicks < 1 or args.concurrency < 1:
        parser.error("--clicks and --concurrency must be at least 1")
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    errors = ErrorCount(logging.ERROR)
    logging.getLogger().addHandler(errors)
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'ack.db'}"
        if args.postgres:
            from pgserver import PostgresServer

            url = stack.enter_context(PostgresServer()).create_database("ack")
        result, status = asyncio.run(run(args, url, errors))
    print(json.dumps(result), flush=True)
    return 0 if result["applied_once"] and status == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
