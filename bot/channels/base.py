"""The Channel protocol every platform edge implements."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

from bot.core.digest import Digest, RollupNode
from bot.core.model import Person
from bot.core.prompts import Outcome, Prompt


class Channel(Protocol):
    async def send(self, person: Person, prompt: Prompt) -> str | None:
        """Deliver a prompt; return the platform's reference to update it in place later."""
        ...

    async def notify(self, person: Person, text: str) -> str | None: ...

    async def find(self, person: Person, checkin: int) -> str | None:
        """The message a cut-off send already delivered for `checkin` (None: not found, or the
        platform cannot tell)."""
        ...

    async def replace(self, person: Person, message_ref: str | None, outcome: Outcome) -> None: ...

    async def post_digest(self, digest: Digest) -> str | None: ...

    async def post_rollup(self, person: Person, nodes: tuple[RollupNode, ...]) -> str | None: ...


@dataclass
class ApiStats:
    """Calls a platform client made, and how many the platform rate-limited, per method."""

    calls: Counter[str] = field(default_factory=Counter)
    limited: Counter[str] = field(default_factory=Counter)
