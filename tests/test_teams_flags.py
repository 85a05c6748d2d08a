"""A blocker flagged from a Teams message action: the manager is told where they are (Slack or
Teams), the confirmation stays in the engineer's own chat, and the dialog's fields read right."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp
import teams_activities as ta
from fakes.bot_connector import FakeConnector
from slack_harness import slack_app
from test_teams import FARID, MAYA, PLATFORM, Teams, teams  # noqa: F401 (the fixture)

from bot.core.model import CheckInState

LINK = "https://teams.microsoft.com/l/message/19:abc/1700000000"
NOTE = "Security hasn't approved prod data"


def flag(connector_url: str) -> dict[str, Any]:
    """Farid submits the message action's dialog on a message in the Platform team's channel."""
    return ta.submit_action(
        FARID,
        "flagBlocker",
        {"kr": "fraud-api", "note": NOTE, "confidence": "55", "link": LINK},
        service_url=connector_url,
        conversation_id=PLATFORM.id,
        message_text=NOTE,
        message_link=LINK,
        team=PLATFORM,
    )


async def post(http: aiohttp.ClientSession, url: str, activity: dict[str, Any]) -> Any:
    headers = {"Content-Type": "application/json"}
    async with http.post(url, data=json.dumps(activity), headers=headers) as response:
        assert response.status in (200, 201)
        text = await response.text()
        return json.loads(text) if text.startswith("{") else text


async def install(
    http: aiohttp.ClientSession, url: str, connector: FakeConnector, user: ta.TeamsUser
) -> None:
    """`user` installs the app in their own chat (Maya, say, never does: she is on Slack)."""
    chat = user.personal_conversation_id
    connector.add_member(chat, user.id, user.name, user.email, user.aad_object_id)
    await post(http, url, ta.installation_update(user, service_url=connector.url))


async def test_a_manager_on_slack_is_told_of_a_flag_from_teams_in_slack(tmp_path: Path) -> None:
    connector = FakeConnector()
    await connector.start()
    try:
        async with slack_app(tmp_path) as slack:  # Teams is served beside Slack, unauthenticated
            teams_url = slack.url.replace("/slack/events", "/api/messages")
            await install(slack.http, teams_url, connector, FARID)
            body = await post(slack.http, teams_url, flag(connector.url))
            assert "your manager has been told" in body["task"]["value"]
            to_maya = [
                c for c in slack.fake.called("chat.postMessage") if c.params["channel"] == "UMAYA"
            ]
            assert len(to_maya) == 1
            assert "Farid Haddad flagged" in to_maya[0].params["text"]
            assert LINK in to_maya[0].params["text"]
            assert not await slack.app.deps.outbox.in_state(CheckInState.FAILED)
    finally:
        await connector.stop()


async def test_a_flags_confirmation_goes_to_the_engineers_own_chat_not_the_channel(
    teams: Teams,  # noqa: F811
) -> None:
    for user in (FARID, MAYA):
        await teams.install(user)
    status, body = await teams.post(flag(teams.fake.url))
    assert status == 200 and "Flagged" in body["task"]["value"]
    in_channel = [s.body.get("text", "") for s in teams.to(PLATFORM.id)]
    assert not any("Flagged" in text for text in in_channel)
    mine = [s.body.get("text", "") for s in teams.to(FARID.personal_conversation_id)]
    assert sum("Flagged" in text and "your manager has been told" in text for text in mine) == 1


async def test_the_flag_dialogs_confidence_field_shows_its_range(teams: Teams) -> None:  # noqa: F811
    await teams.install(FARID)
    fetch = ta.fetch_task(
        FARID,
        "flagBlocker",
        f"<p>{NOTE}</p>",
        service_url=teams.fake.url,
        conversation_id=PLATFORM.id,
        message_link=LINK,
        team=PLATFORM,
    )
    status, body = await teams.post(fetch)
    assert status == 200
    card = body["task"]["value"]["card"]["content"]
    confidence = next(b for b in card["body"] if b.get("id") == "confidence")
    assert confidence["placeholder"] == "0–100"
