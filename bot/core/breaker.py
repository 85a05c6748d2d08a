"""One circuit breaker per integration source: after failures in a row, skip it for a while."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from bot.core.errors import IntegrationError, TransientError

if TYPE_CHECKING:
    from bot.core.deps import Deps

log = logging.getLogger("goalnudge.breaker")
T = TypeVar("T")


class Skipped(TransientError):
    """The source was not called: its circuit is open."""


@dataclass
class Circuit:
    failures: int = 0
    open_until: datetime | None = None
    probing: bool = False


@dataclass
class Breakers:
    """`failures` unreachable answers in a row (timeouts, refused connections, 5xx, 429) open a
    source's circuit for `cooldown`; then one call is let through, and its answer decides."""

    failures: int = 3
    cooldown: timedelta = timedelta(minutes=5)
    circuits: dict[str, Circuit] = field(default_factory=dict)

    def circuit(self, source: str) -> Circuit:
        return self.circuits.setdefault(source, Circuit())

    def blocked(self, source: str, now: datetime) -> str | None:
        """Why `source` must not be called now (None: call it; it may be the probe)."""
        circuit = self.circuit(source)
        if circuit.open_until is None:
            return None
        if now < circuit.open_until or circuit.probing:
            until = f"{circuit.open_until:%H:%M}Z"
            return f"not called until {until} after {self.failures} failures in a row"
        circuit.probing = True
        return None

    def failed(self, source: str, now: datetime) -> bool:
        """Count a failure; True when it opens the circuit (it was closed)."""
        circuit = self.circuit(source)
        circuit.failures += 1
        circuit.probing = False
        if circuit.failures < self.failures and circuit.open_until is None:
            return False
        was_closed = circuit.open_until is None
        circuit.open_until = now + self.cooldown
        return was_closed

    def answered(self, source: str) -> bool:
        """The source answered; True when that closes an open circuit."""
        circuit = self.circuit(source)
        was_open = circuit.open_until is not None
        self.circuits[source] = Circuit()
        return was_open


async def guarded(deps: Deps, source: str, work: Callable[[], Awaitable[T]]) -> T:
    """`work` against `source` unless its circuit is open (then `Skipped`); its outcome counts."""
    breakers = deps.breakers
    reason = breakers.blocked(source, deps.clock.now())
    if reason is not None:
        deps.metrics.circuit(source, "skipped")
        raise Skipped(source, reason)
    try:
        result = await work()
    except TransientError:
        if breakers.failed(source, deps.clock.now()):
            log.warning(
                "%s failed %d times in a row: not called for %s; prompts ask by hand meanwhile",
                source,
                breakers.failures,
                breakers.cooldown,
            )
            deps.metrics.circuit(source, "opened")
        raise
    except IntegrationError:
        _answered(deps, source)  # it answered, if only to refuse: it is reachable
        raise
    finally:
        breakers.circuit(source).probing = False
    _answered(deps, source)
    return result


def _answered(deps: Deps, source: str) -> None:
    if deps.breakers.answered(source):
        log.info("%s answers again", source)
        deps.metrics.circuit(source, "closed")
