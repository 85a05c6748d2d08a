"""Readiness and Prometheus metrics: what `/readyz` and `/metrics` report."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    generate_latest,
)
from sqlalchemy import text

from bot.core.sync import SyncReport
from storage import Store
from storage.db import schema_is_current


@dataclass
class Health:
    """The last sync of each source, and the metrics this process exports."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    last: dict[str, tuple[datetime, SyncReport]] = field(default_factory=dict)

    def __post_init__(self) -> None:
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

    def observe(self, report: SyncReport, at: datetime) -> None:
        self.last[report.source] = (at, report)
        self.calls.labels(report.source).inc(report.calls)
        if not report.ok:
            self.errors.labels(report.source).inc()
        if report.usage:
            self.usage.labels(report.source, "used").set(report.usage[0])
            self.usage.labels(report.source, "allowed").set(report.usage[1])

    async def checks(self, store: Store) -> dict[str, str]:
        found: dict[str, str] = {}
        try:
            async with store.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
            found["database"] = "ok"
            current = await schema_is_current(store.engine)
            found["migrations"] = "ok" if current else "behind: run `goalnudge db upgrade`"
        except Exception as exc:  # readiness reports every failure rather than raising it
            found["database"] = f"unreachable: {type(exc).__name__}"
        for source, (at, report) in self.last.items():
            found[source.lower()] = (
                "ok" if report.ok else f"failing since {at:%H:%M}Z: " + "; ".join(report.errors)
            )
        return found

    def routes(self, store: Store) -> list[web.RouteDef]:
        async def readyz(_request: web.Request) -> web.Response:
            checks = await self.checks(store)
            ready = all(value == "ok" for value in checks.values())
            return web.json_response(
                {"status": "ready" if ready else "not ready", "checks": checks},
                status=200 if ready else 503,
            )

        async def metrics(_request: web.Request) -> web.Response:
            return web.Response(
                body=generate_latest(self.registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
            )

        return [web.get("/readyz", readyz), web.get("/metrics", metrics)]
