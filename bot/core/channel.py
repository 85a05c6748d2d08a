"""The chat channel port: what delivery needs from a platform (or a router over several)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Protocol

from bot.core.digest import Digest, RollupNode
from bot.core.model import Person
from bot.core.prompts import Outcome, Prompt
from bot.core.rich import Rich

# Sends now what answers queued (a manager's notice), through each person's own platform: an
# edge is handed one by whoever composes the channels, so no edge reaches delivery itself.
SendQueued = Callable[[], Awaitable[object]]


class Channel(Protocol):
    async def send(self, person: Person, prompt: Prompt) -> str | None:
        """Deliver a prompt; return the platform's reference to update it in place later."""
        ...

    async def notify(self, person: Person, text: Rich, checkin: int | None = None) -> str | None:
        """Deliver a text; `checkin`: the outbox row it is for, so `find` can find it."""
        ...

    async def find(self, person: Person, checkin: int, since: datetime) -> str | None:
        """The message a cut-off send (claimed at `since`) delivered for `checkin`; None when
        the platform shows it is not there. Raises TransientError when it cannot look now, and
        Unconfirmed when the platform cannot tell at all."""
        ...

    async def replace(self, person: Person, message_ref: str | None, outcome: Outcome) -> None: ...

    async def post_digest(self, digest: Digest) -> str | None: ...

    async def post_rollup(self, person: Person, nodes: tuple[RollupNode, ...]) -> str | None: ...
