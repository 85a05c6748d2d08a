"""Who a Teams sender is: matched only within the organisation's own Microsoft tenant."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import OrderedDict
from typing import Any

from botbuilder.core import TurnContext
from botbuilder.core.teams import TeamsInfo
from botbuilder.schema import Activity

from bot.channels.teams import PLATFORM
from bot.core.deps import Deps
from bot.core.model import Person
from bot.core.ports import Conversations

log = logging.getLogger("goalnudge.teams")
# The tenant an organisation is bound to, when TEAMS_APP_TENANT_ID does not say: stored beside
# the conversation references (one row per organisation), bound by the first matched person.
TENANT_PLATFORM, TENANT_KEY = "teams.tenant", "org"
REPORTED_AT_MOST = 1000  # refused senders remembered, so each is logged once


def tenant_of(activity: Activity) -> str | None:
    """The sender's tenant; None when absent or when the two places Teams puts it disagree."""
    found = {
        getattr(activity.conversation, "tenant_id", None),
        ((activity.channel_data or {}).get("tenant") or {}).get("id"),
    } - {None, ""}
    return found.pop() if len(found) == 1 else None


def event_key(activity: Activity) -> str:
    """An activity id is unique only within its conversation (and ids can be long)."""
    conversation = activity.conversation.id if activity.conversation else ""
    raw = f"{conversation}\n{activity.id}".encode()
    return "teams:" + hashlib.sha256(raw).hexdigest()[:40]


def sender(activity: Activity) -> str:
    """The sender's id as a person's Teams identity holds it: AAD object id, else Teams id."""
    user = activity.from_property
    return str(user.aad_object_id or user.id)


def reference_of(activity: Activity) -> dict[str, Any]:
    return TurnContext.get_conversation_reference(activity).serialize()


class Identities:
    """Matches senders to people; refuses (and logs once) anyone from another tenant."""

    def __init__(
        self, deps: Deps, conversations: Conversations, tenant: str | None, timeout: float
    ) -> None:
        self.deps = deps
        self.timeout = timeout
        self.conversations = conversations
        self.configured = tenant  # TEAMS_APP_TENANT_ID: the organisation's tenant, fixed
        self.reported: OrderedDict[tuple[str, str], None] = OrderedDict()

    async def org_tenant(self) -> str | None:
        if self.configured:
            return self.configured
        stored = await self.conversations.get(TENANT_PLATFORM, TENANT_KEY)
        return str(stored["tenantId"]) if stored and stored.get("tenantId") else None

    async def same_tenant(self, activity: Activity) -> bool:
        """Whether the activity comes from the organisation's tenant (or none is known yet)."""
        ours, theirs = await self.org_tenant(), tenant_of(activity)
        if ours is None or ours == theirs:
            return True
        self.refused(activity, "is from another Microsoft tenant")
        return False

    def refused(self, activity: Activity, why: str) -> None:
        """One WARNING per sender and reason; ids only (never an email address)."""
        user = activity.from_property
        key = (f"{tenant_of(activity)}|{user.aad_object_id or user.id}", why)
        if key in self.reported:
            return
        self.reported[key] = None
        if len(self.reported) > REPORTED_AT_MOST:
            self.reported.popitem(last=False)
        log.warning(
            "Teams sender %s (tenant %s) refused: %s",
            user.aad_object_id or user.id,
            tenant_of(activity) or "none",
            why,
        )

    async def person(self, ctx: TurnContext) -> Person | None:
        """Match the sender by AAD object id, else by roster email (then remember both)."""
        activity = ctx.activity
        if not await self.same_tenant(activity):
            return None
        user = activity.from_property
        key = sender(activity)
        found = await self.deps.directory.person_by_identity(PLATFORM, key)
        if found is None:
            try:
                member = await asyncio.wait_for(TeamsInfo.get_member(ctx, user.id), self.timeout)
            except Exception as exc:  # any failure: the sender stays unknown this time
                log.warning("Teams roster lookup failed (%s)", type(exc).__name__)
                return None
            email = member.email or member.user_principal_name or ""
            found = await self.deps.directory.person(email) if email else None
            if found is None:
                return None
            if (known := found.ids.get(PLATFORM)) and known != key:
                self.refused(activity, "claims a person already known by another Teams id")
                return None
            await self.bind_tenant(activity)
            await self.deps.directory.link_identity(found.email, PLATFORM, key)
        elif await self.org_tenant() is None:
            await self.bind_tenant(activity)
        if activity.conversation.conversation_type == "personal":
            await self.conversations.save(
                "teams", key, reference_of(activity), self.deps.clock.now()
            )
        return await self.deps.directory.person(found.email)

    async def bind_tenant(self, activity: Activity) -> None:
        tenant = tenant_of(activity)
        if tenant and not await self.org_tenant():
            record = {"tenantId": tenant}
            await self.conversations.save(
                TENANT_PLATFORM, TENANT_KEY, record, self.deps.clock.now()
            )
            log.info("Teams: this organisation is now bound to Microsoft tenant %s", tenant)
