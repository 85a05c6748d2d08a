"""Build inbound Slack requests (body, headers) as Slack sends them, signed with the v0 scheme."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode

__all__ = [
    "app_home_opened",
    "block_actions",
    "event",
    "message_action",
    "signed",
    "slash_command",
    "url_verification",
    "view_submission",
]

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
VERIFICATION_TOKEN = "verification-token"
TEAM = {"id": "T1", "domain": "acme"}
# Where clicks' response_urls point: Slack's host, or a fake's (set by the harness that runs one).
HOOKS = "https://hooks.slack.com"

Request = tuple[str, dict[str, str]]


def signed(
    body: str, secret: str, *, timestamp: int | None = None, content_type: str
) -> dict[str, str]:
    """Headers for body: Content-Type plus the v0 request signature Slack computes with secret."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest}",
    }


def _now_ts() -> str:
    return f"{time.time():.6f}"


def _user(user_id: str) -> dict[str, str]:
    return {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": "T1"}


def _channel_name(channel_id: str) -> str:
    return "directmessage" if channel_id.startswith("D") else "general"


def _interactive(payload: dict[str, Any], secret: str) -> Request:
    """Interactivity payloads arrive form-encoded as a single `payload` field holding JSON."""
    base = {"token": VERIFICATION_TOKEN, "team": TEAM, "api_app_id": "A1"}
    body = urlencode({"payload": json.dumps(base | payload)})
    return body, signed(body, secret, content_type=FORM)


def block_actions(
    user_id: str,
    action_id: str,
    value: str,
    *,
    secret: str,
    channel: str = "D1",
    message_ts: str = "1700000000.000100",
    action_ts: str | None = None,
    trigger_id: str = "trig-1",
    team_id: str = "T1",
    response_url: str | None = None,
) -> Request:
    action = {
        "action_id": action_id,
        "block_id": "b1",
        "value": value,
        "type": "button",
        "action_ts": action_ts or _now_ts(),
    }
    container = {
        "type": "message",
        "message_ts": message_ts,
        "channel_id": channel,
        "is_ephemeral": False,
    }
    return _interactive(
        {
            "type": "block_actions",
            "user": _user(user_id) | {"team_id": team_id},
            "team": TEAM | {"id": team_id},
            "container": container,
            "channel": {"id": channel, "name": _channel_name(channel)},
            "message": {"type": "message", "user": "UBOT", "ts": message_ts, "text": ""},
            "trigger_id": trigger_id,
            "response_url": response_url or f"{HOOKS}/actions/{team_id}/1/x",
            "actions": [action],
        },
        secret,
    )


def view_submission(
    user_id: str,
    callback_id: str,
    values: dict[str, dict[str, dict[str, Any]]],
    private_metadata: str,
    *,
    secret: str,
    view_id: str = "V1",
    trigger_id: str = "trig-4",
) -> Request:
    view = {
        "id": view_id,
        "team_id": "T1",
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": private_metadata,
        "state": {"values": values},
        "hash": "h1",
        "blocks": [],
        "app_id": "A1",
        "bot_id": "B1",
    }
    payload = {
        "type": "view_submission",
        "user": _user(user_id),
        "view": view,
        "trigger_id": trigger_id,
        "response_urls": [],
        "is_enterprise_install": False,
    }
    return _interactive(payload, secret)


def message_action(
    user_id: str,
    callback_id: str,
    text: str,
    *,
    channel_id: str,
    message_ts: str,
    secret: str,
    trigger_id: str = "trig-2",
    message_user: str | None = None,
) -> Request:
    """A message shortcut by user_id on a message whose author is message_user (default user_id)."""
    message = {"type": "message", "user": message_user or user_id, "ts": message_ts, "text": text}
    return _interactive(
        {
            "type": "message_action",
            "callback_id": callback_id,
            "trigger_id": trigger_id,
            "action_ts": _now_ts(),
            "message_ts": message_ts,
            "user": _user(user_id),
            "channel": {"id": channel_id, "name": _channel_name(channel_id)},
            "message": message,
            "response_url": "https://hooks.slack.com/app/T1/1/x",
        },
        secret,
    )


def slash_command(
    user_id: str,
    command: str,
    text: str,
    *,
    secret: str,
    channel_id: str = "D1",
    trigger_id: str = "trig-3",
    team_id: str = "T1",
) -> Request:
    fields = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": "acme",
        "channel_id": channel_id,
        "channel_name": _channel_name(channel_id),
        "user_id": user_id,
        "user_name": user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": "A1",
        "is_enterprise_install": "false",
        "response_url": f"{HOOKS}/commands/{team_id}/1/x",
        "trigger_id": trigger_id,
    }
    body = urlencode(fields)
    return body, signed(body, secret, content_type=FORM)


def event(
    payload_event: dict[str, Any],
    *,
    secret: str,
    event_id: str = "Ev1",
    retry_num: int | None = None,
    team_id: str = "T1",
) -> Request:
    """An Events API callback; retry_num adds the headers Slack sends when it redelivers."""
    authorization = {
        "enterprise_id": None,
        "team_id": team_id,
        "user_id": "UBOT",
        "is_bot": True,
        "is_enterprise_install": False,
    }
    envelope = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "api_app_id": "A1",
        "event": payload_event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "authorizations": [authorization],
        "is_ext_shared_channel": False,
    }
    body = json.dumps(envelope)
    headers = signed(body, secret, content_type=JSON)
    if retry_num is not None:
        headers |= {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
    return body, headers


def app_home_opened(
    user_id: str,
    *,
    secret: str,
    channel: str = "D1",
    event_id: str = "Ev1",
    retry_num: int | None = None,
) -> Request:
    home = {
        "type": "app_home_opened",
        "user": user_id,
        "channel": channel,
        "tab": "home",
        "event_ts": _now_ts(),
    }
    return event(home, secret=secret, event_id=event_id, retry_num=retry_num)


def url_verification(challenge: str, *, secret: str) -> Request:
    body = json.dumps(
        {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}
    )
    return body, signed(body, secret, content_type=JSON)
