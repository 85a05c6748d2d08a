"""Build inbound Bot Framework activities (JSON dicts) as Microsoft Teams posts them to a bot."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

__all__ = [
    "BOT_APP_ID",
    "BOT_ID",
    "BOT_NAME",
    "TENANT_ID",
    "TeamsTeam",
    "TeamsUser",
    "card_action",
    "card_submit",
    "conversation_update_members_added",
    "fetch_task",
    "installation_update",
    "message",
    "submit_action",
]

Json = dict[str, Any]

TENANT_ID = "72f988bf-0000-4000-8000-00000000a11e"
BOT_APP_ID = "b07b07b0-0000-4000-8000-00000000b071"
BOT_ID = f"28:{BOT_APP_ID}"
BOT_NAME = "GoalNudge"
LOCAL_TZ = timezone(timedelta(hours=-7))
_event_ids = itertools.count(1)
_message_ids = itertools.count(1)


@dataclass(frozen=True)
class TeamsUser:
    id: str  # "29:…", the bot-specific user id
    name: str
    aad_object_id: str
    email: str
    tenant: str = TENANT_ID  # the user's Microsoft tenant (their organisation's directory)

    @classmethod
    def from_email(cls, email: str, name: str | None = None, tenant: str = TENANT_ID) -> TeamsUser:
        """A user with ids derived deterministically from email (and tenant, if not ours)."""
        seed = f"aad:{email.lower()}" + ("" if tenant == TENANT_ID else f"@{tenant}")
        aad = str(uuid.uuid5(uuid.NAMESPACE_URL, seed))
        name = name or email.split("@")[0].replace(".", " ").title()
        return cls(f"29:1{aad.replace('-', '')}", name, aad, email, tenant)

    @property
    def personal_conversation_id(self) -> str:
        """The id of the user's 1:1 chat with the bot ("a:…")."""
        return f"a:1{self.aad_object_id.replace('-', '')}"

    def account(self) -> Json:
        return {"id": self.id, "name": self.name, "aadObjectId": self.aad_object_id}


@dataclass(frozen=True)
class TeamsTeam:
    id: str  # "19:…@thread.tacv2", also the id of the team's General channel
    name: str
    aad_group_id: str


def _conversation(conversation_id: str, team: TeamsTeam | None, tenant: str) -> Json:
    conversation: Json = {"conversationType": "personal", "tenantId": tenant}
    if team is not None:
        conversation = {"isGroup": True, "conversationType": "channel", "tenantId": tenant}
    elif conversation_id.startswith("19:"):
        conversation = {"isGroup": True, "conversationType": "groupChat", "tenantId": tenant}
    return conversation | {"id": conversation_id}


def _channel_data(
    conversation_id: str, team: TeamsTeam | None, tenant: str = TENANT_ID, **extra: Any
) -> Json:
    data: Json = {"tenant": {"id": tenant}}
    if team is not None:
        channel_id = conversation_id.split(";")[0]
        data |= {
            "teamsChannelId": channel_id,
            "teamsTeamId": team.id,
            "channel": {"id": channel_id},
            "team": {"id": team.id, "name": team.name, "aadGroupId": team.aad_group_id},
        }
    return data | extra


def _activity(
    kind: str,
    user: TeamsUser,
    *,
    service_url: str,
    conversation_id: str,
    team: TeamsTeam | None = None,
    activity_id: str | None = None,
    **fields: Any,
) -> Json:
    """The fields every Teams activity carries, plus the kind-specific ones."""
    now = datetime.now(UTC)
    channel_data = fields.pop("channelData", {})
    return {
        "type": kind,
        "id": activity_id or f"f:{uuid.UUID(int=next(_event_ids))}",
        "timestamp": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "localTimestamp": now.astimezone(LOCAL_TZ).isoformat(timespec="milliseconds"),
        "localTimezone": "America/Los_Angeles",
        "serviceUrl": service_url,
        "channelId": "msteams",
        "from": user.account(),
        "conversation": _conversation(conversation_id, team, user.tenant),
        "recipient": {"id": BOT_ID, "name": BOT_NAME},
        "entities": [
            {
                "type": "clientInfo",
                "locale": "en-US",
                "country": "US",
                "platform": "Web",
                "timezone": "America/Los_Angeles",
            }
        ],
        "channelData": _channel_data(conversation_id, team, user.tenant, **channel_data),
        "locale": "en-US",
        **fields,
    }


def installation_update(
    user: TeamsUser,
    *,
    service_url: str,
    action: str = "add",
    conversation: str | None = None,
    team: TeamsTeam | None = None,
) -> Json:
    """The app was installed ("add") or uninstalled ("remove") for user, or in team."""
    conversation_id = conversation or (team.id if team else user.personal_conversation_id)
    return _activity(
        "installationUpdate",
        user,
        service_url=service_url,
        conversation_id=conversation_id,
        team=team,
        action=action,
        channelData={"source": {"name": "message"}},
    )


def conversation_update_members_added(
    user: TeamsUser, *, service_url: str, team: TeamsTeam | None = None
) -> Json:
    """The bot joined user's 1:1 chat, or (with team) was added to a team by user."""
    if team is None:
        added = [{"id": BOT_ID}, {"id": user.id, "aadObjectId": user.aad_object_id}]
        return _activity(
            "conversationUpdate",
            user,
            service_url=service_url,
            conversation_id=user.personal_conversation_id,
            membersAdded=added,
        )
    channel_data = {
        "eventType": "teamMemberAdded",
        "settings": {"selectedChannel": {"id": team.id}},
    }
    return _activity(
        "conversationUpdate",
        user,
        service_url=service_url,
        conversation_id=team.id,
        team=team,
        membersAdded=[{"id": BOT_ID}],
        channelData=channel_data,
    )


def message(
    user: TeamsUser,
    text: str,
    *,
    service_url: str,
    conversation_id: str,
    activity_id: str,
    team: TeamsTeam | None = None,
) -> Json:
    """A plain-text message from user."""
    return _activity(
        "message",
        user,
        service_url=service_url,
        conversation_id=conversation_id,
        team=team,
        activity_id=activity_id,
        text=text,
        textFormat="plain",
        attachments=[],
    )


def card_action(
    user: TeamsUser,
    verb: str,
    data: Json,
    *,
    service_url: str,
    conversation_id: str,
    reply_to_id: str,
    team: TeamsTeam | None = None,
) -> Json:
    """An Action.Execute (Adaptive Card 1.5 Universal Action) press on the card reply_to_id."""
    value = {
        "action": {"type": "Action.Execute", "id": verb, "verb": verb, "data": data},
        "trigger": "manual",
    }
    return _activity(
        "invoke",
        user,
        service_url=service_url,
        conversation_id=conversation_id,
        team=team,
        name="adaptiveCard/action",
        value=value,
        replyToId=reply_to_id,
        channelData={"source": {"name": "message"}, "legacy": {"replyToId": reply_to_id}},
    )


def card_submit(
    user: TeamsUser,
    data: Json,
    *,
    service_url: str,
    conversation_id: str,
    reply_to_id: str,
    team: TeamsTeam | None = None,
) -> Json:
    """An Action.Submit press on the card reply_to_id: a message with value and no text."""
    return _activity(
        "message",
        user,
        service_url=service_url,
        conversation_id=conversation_id,
        team=team,
        activity_id=str(1_700_000_000_000 + next(_message_ids)),
        value=data,
        replyToId=reply_to_id,
        channelData={"source": {"name": "message"}, "legacy": {"replyToId": reply_to_id}},
    )


def _message_payload(user: TeamsUser, text: str, link: str) -> Json:
    """The message a message-extension action was started from, as Graph's chatMessage."""
    message_id = link.rstrip("/").rsplit("/", 1)[-1].split("?")[0]
    sender = {"userIdentityType": "aadUser", "id": user.aad_object_id, "displayName": user.name}
    return {
        "id": message_id,
        "replyToId": None,
        "linkToMessage": link,
        "createdDateTime": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "lastModifiedDateTime": None,
        "deleted": False,
        "summary": None,
        "importance": "normal",
        "locale": "en-us",
        "body": {"contentType": "html", "content": text},
        "from": {"device": None, "conversation": None, "user": sender, "application": None},
        "reactions": [],
        "mentions": [],
        "attachments": [],
    }


def fetch_task(
    user: TeamsUser,
    command_id: str,
    message_text: str,
    *,
    service_url: str,
    conversation_id: str,
    message_link: str,
    team: TeamsTeam | None = None,
) -> Json:
    """user chose the message action command_id on a message (Teams asks for the dialog)."""
    value = {
        "commandId": command_id,
        "commandContext": "message",
        "requestId": uuid.uuid4().hex,
        "context": {"theme": "default"},
        "messagePayload": _message_payload(user, message_text, message_link),
    }
    return _activity(
        "invoke",
        user,
        service_url=service_url,
        conversation_id=conversation_id,
        team=team,
        name="composeExtension/fetchTask",
        value=value,
        channelData={"source": {"name": "message"}},
    )


def submit_action(
    user: TeamsUser,
    command_id: str,
    data: Json,
    *,
    service_url: str,
    conversation_id: str,
    message_text: str,
    message_link: str,
    team: TeamsTeam | None = None,
) -> Json:
    """user submitted the message action's dialog with data."""
    value = {
        "commandId": command_id,
        "commandContext": "message",
        "data": data,
        "context": {"theme": "default"},
        "messagePayload": _message_payload(user, message_text, message_link),
    }
    return _activity(
        "invoke",
        user,
        service_url=service_url,
        conversation_id=conversation_id,
        team=team,
        name="composeExtension/submitAction",
        value=value,
        channelData={"source": {"name": "message"}},
    )
