"""Wire settings, storage and sources into the core's Deps (the one place that knows them all)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from bot.config import Settings
from bot.core.breaker import Breakers
from bot.core.deps import Deps, SystemClock, Timing
from bot.core.errors import ConfigError
from bot.core.ports import Clock
from bot.core.sources import Sources
from bot.core.syncing import SyncSchedule
from integrations import registry
from integrations.calendar import PublicHolidays
from storage import SecretBox, Store, open_store
from storage.db import schema_is_current
from storage.secrets import check as check_secrets


@dataclass
class App:
    store: Store
    deps: Deps
    syncs: SyncSchedule = field(default_factory=SyncSchedule)


def timing(settings: Settings) -> Timing:
    """One reminder (or none) a set time after a prompt; then it expires."""
    remind = timedelta(minutes=settings.goalnudge_remind_after_minutes)
    return Timing(
        remind if settings.goalnudge_reminders == "one" else None,
        timedelta(minutes=settings.goalnudge_expire_after_minutes),
    )


def repositories(store: Store) -> dict[str, Any]:
    """The organisation's repositories, by the Deps field each one fills."""
    return {
        "directory": store.directory,
        "outbox": store.outbox,
        "ledger": store.ledger,
        "snapshots": store.snapshots,
        "digests": store.digests,
        "inbox": store.inbox,
    }


def build_deps(
    store: Store,
    clock: Clock,
    sources: Sources,
    timing: Timing | None = None,
    breakers: Breakers | None = None,
) -> Deps:
    return Deps(
        **repositories(store),
        clock=clock,
        sources=sources,
        holidays=PublicHolidays(),
        timing=timing or Timing(),
        breakers=breakers or Breakers(),
    )


def for_org(app: App, slug: str) -> App:
    """Organisation `slug` of the same database (one engine for all): its own repositories, and
    the same clock, sources, timing and metrics."""
    store = app.store.for_org(slug)
    deps = replace(app.deps, **repositories(store), availability=None)
    return App(store, deps, SyncSchedule(app.syncs.every, app.syncs.fresh))


@asynccontextmanager
async def open_app(settings: Settings, clock: Clock | None = None) -> AsyncIterator[App]:
    box = SecretBox.from_setting(settings.goalnudge_secret_key)
    store = open_store(settings.database_url, settings.goalnudge_org, box)
    if not await schema_is_current(store.engine):
        await store.close()
        raise ConfigError("the database is not at the latest schema: run `goalnudge db upgrade`")
    configured = registry.sources(settings)
    try:
        await check_secrets(store.scope.sessions, box)
        breakers = Breakers(
            settings.goalnudge_breaker_failures,
            timedelta(seconds=settings.goalnudge_breaker_cooldown_seconds),
        )
        deps = build_deps(store, clock or SystemClock(), configured, timing(settings), breakers)
        yield App(store, deps, SyncSchedule(timedelta(minutes=settings.goalnudge_sync_minutes)))
    finally:
        await store.close()
