"""Readiness and Prometheus metrics: what `/readyz` and `/metrics` report."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from sqlalchemy import text

from bot.channels.base import ApiStats
from bot.channels.console import plain
from bot.core.rich import Rich
from bot.core.sync import SyncReport
from storage import Store
from storage.db import schema_is_current

Check = Callable[[], Awaitable[str]]  # "ok", or what is wrong
CHECK_TTL = 30.0  # seconds a platform check is reused: probes come every few seconds
CHECK_TIMEOUT = 1.5  # seconds a readiness check may take: probes give up after a few
BEHIND = "behind: run `goalnudge db upgrade`"
DEPTH_TIMEOUT = 0.5  # seconds /metrics waits for the outbox depth before serving the last one
SKIP_REASONS = (
    ("public holiday", "holiday"),
    ("snoozed", "snoozed"),
    ("is not a working day", "not_working_day"),
    ("slack status", "away"),
)
LATENCY_BUCKETS = tuple(m * 60.0 for m in (1, 5, 15, 30, 60, 120, 240, 480, 1440, 4320))


def skip_reason(reason: str | None) -> str:
    """A skip's reason as a small, fixed set of label values."""
    lowered = (reason or "").lower()
    return next((label for words, label in SKIP_REASONS if words in lowered), "other")


@dataclass(eq=False)  # registered as a prometheus collector, which must be hashable
class Health:
    """The last sync of each source, platform checks, and the metrics this process exports;
    also the core's Metrics port (prompts and answers)."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    last: dict[str, tuple[datetime, SyncReport]] = field(default_factory=dict)
    api: dict[str, ApiStats] = field(default_factory=dict)  # platform → its client's counts
    platform_checks: dict[str, Check] = field(default_factory=dict)
    leading: Callable[[], bool] = lambda: False
    # What an admin must still do before the chats work (firstrun.missing), else None; it does
    # not make the process unready: the chats answer with that step, so traffic must reach it.
    setup: Callable[[], Awaitable[Rich | None]] | None = None
    _checked: dict[str, tuple[float, str]] = field(default_factory=dict)
    _running: dict[str, asyncio.Future[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.prompt_count = Counter(
            "goalnudge_prompts",
            "Check-in prompts by what happened to them (skipped ones by reason)",
            ["outcome", "reason"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "goalnudge_answer_latency_seconds",
            "Time from a prompt being sent to its answer",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.depth = Gauge(
            "goalnudge_outbox_depth",
            "Messages waiting to be sent (planned or being sent)",
            registry=self.registry,
        )
        self.registry.register(self)
        self.calls = Counter(
            "goalnudge_integration_calls",
            "API calls made to an integration",
            ["source"],
            registry=self.registry,
        )
        self.errors = Counter(
            "goalnudge_integration_errors",
            "Failed integration syncs",
            ["source"],
            registry=self.registry,
        )
        self.usage = Gauge(
            "goalnudge_crm_api_usage",
            "API requests used and allowed (Salesforce Sforce-Limit-Info)",
            ["source", "kind"],
            registry=self.registry,
        )
        self.circuits = Counter(
            "goalnudge_integration_circuit",
            "Circuit breaker events per source: opened, skipped (a call not made), closed",
            ["source", "event"],
            registry=self.registry,
        )

    def prompts(self, outcome: str, count: int = 1, reason: str | None = None) -> None:
        label = skip_reason(reason) if outcome == "skipped" else ""
        self.prompt_count.labels(outcome, label).inc(count)

    def answered(self, latency: timedelta | None) -> None:
        self.prompt_count.labels("answered", "").inc()
        if latency is not None:
            self.latency.observe(max(0.0, latency.total_seconds()))

    def circuit(self, source: str, event: str) -> None:
        self.circuits.labels(source, event).inc()

    def collect(self) -> Iterator[Metric]:
        """Read at scrape time: the chat clients' own counts and the leader flag."""
        calls = CounterMetricFamily(
            "goalnudge_chat_api_calls", "Slack/Teams API calls", labels=["platform", "method"]
        )
        limited = CounterMetricFamily(
            "goalnudge_chat_api_rate_limited",
            "Slack/Teams API calls answered 429",
            labels=["platform", "method"],
        )
        for platform, stats in self.api.items():
            for method, n in stats.calls.items():
                calls.add_metric([platform, method], n)
            for method, n in stats.limited.items():
                limited.add_metric([platform, method], n)
        leader = GaugeMetricFamily(
            "goalnudge_scheduler_leader", "1 when this process runs the check-in rounds"
        )
        leader.add_metric([], 1.0 if self.leading() else 0.0)
        yield from (calls, limited, leader)

    async def bounded(self, name: str, check: Check, limit: float = CHECK_TIMEOUT) -> str:
        """`check`'s answer within `limit` seconds, else "failing: NAME timed out". A check
        still hanging is not started again: the next probe waits on the same one."""
        task = self._running.get(name)
        if task is None:
            task = self._running[name] = asyncio.ensure_future(check())
            task.add_done_callback(lambda _: self._running.pop(name, None))
        done, _ = await asyncio.wait({task}, timeout=limit)
        if not done:
            return f"failing: {name} timed out"
        if task.cancelled() or task.exception() is not None:
            return f"failing: {type(task.exception()).__name__}"
        return task.result()

    async def platform(self, name: str, check: Check) -> str:
        cached = self._checked.get(name)
        if cached is not None and time.monotonic() - cached[0] < CHECK_TTL:
            return cached[1]
        found = await self.bounded(name, check)
        self._checked[name] = (time.monotonic(), found)
        return found

    def observe(self, report: SyncReport, at: datetime) -> None:
        self.last[report.source] = (at, report)
        self.calls.labels(report.source).inc(report.calls)
        if not report.ok:
            self.errors.labels(report.source).inc()
        if report.usage:
            self.usage.labels(report.source, "used").set(report.usage[0])
            self.usage.labels(report.source, "allowed").set(report.usage[1])

    async def checks(self, store: Store) -> dict[str, str]:
        async def database() -> str:
            try:
                async with store.engine.connect() as connection:
                    await connection.execute(text("SELECT 1"))
                return "ok" if await schema_is_current(store.engine) else BEHIND
            except Exception as exc:  # readiness reports every failure rather than raising it
                return f"unreachable: {type(exc).__name__}"

        names = list(self.platform_checks)
        db, *platforms = await asyncio.gather(
            self.bounded("database", database),
            *(self.platform(name, self.platform_checks[name]) for name in names),
        )
        found = {"database": "ok", "migrations": db} if db in ("ok", BEHIND) else {"database": db}
        found |= dict(zip(names, platforms, strict=True))
        for source, (at, report) in self.last.items():
            found[source.lower()] = (
                "ok" if report.ok else f"failing since {at:%H:%M}Z: " + "; ".join(report.errors)
            )
        return found

    def routes(self, store: Store) -> list[web.RouteDef]:
        async def setup() -> str:
            todo = await self.setup() if self.setup is not None else None
            return plain(todo) if todo else "ok"  # read by people in a terminal

        async def readyz(_request: web.Request) -> web.Response:
            checks, todo = await asyncio.gather(self.checks(store), self.bounded("setup", setup))
            ready = all(value == "ok" for value in checks.values())
            status = "ready" if ready else "not ready"
            body: dict[str, object] = {"status": status, "checks": checks}
            if todo != "ok" and not todo.startswith("failing: "):  # the database check says why
                body["setup"] = todo
            return web.json_response(body, status=200 if ready else 503)

        async def depth() -> str:
            self.depth.set(await store.outbox.depth())
            return "ok"

        async def metrics(_request: web.Request) -> web.Response:
            # The database's trouble shows in /readyz; metrics answer with the last known depth.
            await self.bounded("outbox depth", depth, DEPTH_TIMEOUT)
            return web.Response(
                body=generate_latest(self.registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
            )

        return [web.get("/readyz", readyz), web.get("/metrics", metrics)]
