"""Work that runs after the ack (a tracker write-back): each job a task, held until it ends."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger("goalnudge.jobs")


class Jobs:
    """Background tasks of this process; a failure is logged, never lost silently."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(work)
        self.tasks.add(task)  # the loop keeps only a weak reference
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("a follow-up job failed", exc_info=task.exception())

    async def drain(self) -> None:
        """Wait for every job, including those started meanwhile (at shutdown, in tests)."""
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)
