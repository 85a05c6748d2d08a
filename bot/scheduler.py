"""APScheduler inside `serve`, with one leader per database (a PostgreSQL advisory lock)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

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


def start(
    leader: Leader, round_: Callable[[], Awaitable[None]], seconds: float
) -> AsyncIOScheduler:
    """Run `round_` every `seconds` on the leader only; a late round is merged, never doubled."""

    async def job() -> None:
        if await leader.acquire():
            await round_()

    scheduler = AsyncIOScheduler(timezone="UTC")
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
    return scheduler
