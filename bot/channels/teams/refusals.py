"""People Teams will not let goalnudge post to, remembered until they come back."""

from __future__ import annotations

from bot.channels.teams import PLATFORM as TEAMS
from bot.core.model import Person
from bot.core.ports import Clock, Conversations

# Stored beside the conversation references and keyed the same way (the person's Teams id).
PLATFORM = "teams.unreachable"


class Refusals:
    """Who the Bot Connector refused for good (a 403 MessageWritesBlocked,
    BotNotInConversationRoster or BotDisabledByAdmin, or their chat gone), and why."""

    def __init__(self, conversations: Conversations, clock: Clock) -> None:
        self.conversations = conversations
        self.clock = clock

    async def why(self, key: str | None) -> str | None:
        stored = await self.conversations.get(PLATFORM, key) if key else None
        return str(stored["reason"]) if stored and stored.get("reason") else None

    async def mark(self, key: str, reason: str) -> None:
        now = self.clock.now()
        record = {"reason": reason, "since": now.isoformat()}
        await self.conversations.save(PLATFORM, key, record, now)

    async def clear(self, key: str | None) -> bool:
        """They messaged the bot or installed it again; True if they had been refused."""
        if await self.why(key) is None:
            return False
        now = self.clock.now()
        record = {"reason": None, "back": now.isoformat()}
        await self.conversations.save(PLATFORM, key or "", record, now)
        return True

    async def unreachable(self, person: Person) -> str | None:
        """The core's Reachability port: the reason as the outbox and digest show it."""
        why = await self.why(person.ids.get(TEAMS))
        return f"teams: {why}" if why else None
