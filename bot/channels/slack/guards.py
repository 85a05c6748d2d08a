"""What a Slack request must be before a listener acts on it: from the organisation's own
workspace, by a known person, carrying a button value goalnudge rendered."""

from __future__ import annotations

import json
from contextlib import suppress
from typing import Any

from slack_bolt.async_app import AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.channels.slack import PLATFORM
from bot.channels.slack.inbound import refusals
from bot.core.deps import Deps
from bot.core.model import Person

OUT_OF_DATE = "That button is out of date: use the latest message from goalnudge."
MAX_ID = 2**63 - 1  # the largest id a database column holds


def checkin_in(value: object) -> int | None:
    """The check-in id of a button value goalnudge rendered (`{"c": 12}`), else None."""
    try:
        data = json.loads(value) if isinstance(value, str) else None
    except ValueError:  # not JSON, or a number too long to read
        return None
    found = data.get("c") if isinstance(data, dict) else None
    return found if type(found) is int and 0 < found <= MAX_ID else None


def workspace(context: AsyncBoltContext) -> str:
    """The request's workspace, which scopes its event and action ids."""
    return context.team_id or context.enterprise_id or "-"


def foreign(context: AsyncBoltContext, user_team: object) -> str | None:
    """The team a request comes from when it is not the organisation's own workspace (the team
    Bolt authorised: auth.test's with one token, the installation's in OAuth mode)."""
    result = context.authorize_result
    home = result.team_id if result is not None else None
    for team in (context.team_id, context.actor_team_id, user_team):
        if team is not None and team != home:
            return str(team)
    return None if home else "-"


async def person(
    deps: Deps,
    context: AsyncBoltContext,
    client: AsyncWebClient,
    user_id: str,
    user_team: object = None,
) -> Person | None:
    """The person a Slack user is, matched by id within the workspace, else by email (then the id
    is remembered, unless the person is already known by another Slack id: never replaced)."""
    elsewhere = foreign(context, user_team)
    if elsewhere is not None:
        refusals.warning(
            f"team:{elsewhere}",
            "Slack user %s of workspace %s refused: not this organisation's workspace",
            user_id,
            elsewhere,
        )
        return None
    return await match(deps, client, user_id)


async def match(deps: Deps, client: AsyncWebClient, user_id: str) -> Person | None:
    """A Slack user of the organisation's own workspace, by id, else by email."""
    found = await deps.directory.person_by_identity(PLATFORM, user_id)
    if found is not None:
        return found
    try:
        info = await client.users_info(user=user_id)
    except SlackApiError:
        return None
    email = str(info["user"].get("profile", {}).get("email") or "")
    found = await deps.directory.person(email) if email else None
    if found is None:
        return None
    if (known := found.ids.get(PLATFORM)) and known != user_id:
        refusals.warning(
            f"user:{user_id}",
            "Slack user %s refused: their email is a person's already known as Slack user %s",
            user_id,
            known,
        )
        return None
    await deps.directory.link_identity(found.email, PLATFORM, user_id, info["user"].get("tz"))
    return await deps.directory.person(found.email)


async def tell(client: Any, body: dict[str, Any], text: str) -> None:
    """A short note only the clicker sees, where they clicked; nothing if Slack refuses it."""
    channel = (body.get("container") or {}).get("channel_id") or (body.get("channel") or {}).get(
        "id"
    )
    user = (body.get("user") or {}).get("id")
    if not (channel and user):
        return
    with suppress(SlackApiError):  # e.g. the bot is not in that channel: the click does nothing
        await client.chat_postEphemeral(channel=channel, user=user, text=text)
