"""APScheduler inside `serve`, with one leader per database (a PostgreSQL advisory lock)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger("goalnudge.scheduler")
LOCK_KEY = 0x60A1_0D6E  # any constant shared by every goalnudge process on the database


class Leader:
    """Holds a session-level advisory lock on its own connection while it leads; the lock goes
    with the connection, so a killed leader frees it and another process takes over."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.connection: AsyncConnection | None = None

    @property
    def leading(self) -> bool:
        return not self.shared or self.connection is not None

    @property
    def shared(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    async def acquire(self) -> bool:
        if not self.shared:
            return True  # SQLite: one process per file, nobody to share with
        try:
            if self.connection is not None:
                await self.connection.execute(text("SELECT 1"))
                return True
            connection = await self.engine.connect()
            got = await connection.scalar(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY}
            )
            if got:
                self.connection = connection
                log.info("this process now runs the scheduler")
                return True
            await connection.close()
        except Exception:  # a lost connection means lost leadership; try again next round
            log.warning("leader check failed", exc_info=True)
            await self.release()
        return False

    async def release(self) -> None:
        if self.connection is not None:
            try:
                await self.connection.close()
            finally:
                self.connection = None


class Rounds:
    """The running scheduler, and the round in progress, which `stop` cuts short cleanly."""

    def __init__(self, scheduler: AsyncIOScheduler) -> None:
        self.scheduler = scheduler
        self.running: set[asyncio.Task[Any]] = set()

    async def stop(self) -> None:
        self.scheduler.shutdown(wait=False)
        for task in list(self.running):
            task.cancel()
        await asyncio.gather(*self.running, return_exceptions=True)


def start(leader: Leader, round_: Callable[[], Awaitable[None]], seconds: float) -> Rounds:
    """Run `round_` every `seconds` on the leader only; a late round is merged, never doubled."""

    async def job() -> None:
        task = asyncio.current_task()
        assert task is not None
        rounds.running.add(task)
        try:
            if await leader.acquire():
                await round_()
        except asyncio.CancelledError:
            # Shutting down mid-round loses nothing: unsent rows stay in the outbox, and rows
            # cut off mid-send are settled by the next leader's recovery.
            log.info("check-in round stopped by shutdown")
        finally:
            rounds.running.discard(task)

    scheduler = AsyncIOScheduler(timezone="UTC")
    rounds = Rounds(scheduler)
    scheduler.add_job(
        job,
        "interval",
        seconds=seconds,
        id="check-in round",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=max(1, int(seconds)),
        next_run_time=datetime.now(UTC),
    )
    scheduler.start()
    return rounds
