"""The leader's roll-up names each key result at risk with its team, and opens that team's
digest: a Slack button (signed request), a Teams card action."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import slack_requests as sr
import teams_activities as ta
from slack_harness import SECRET, Slack, slack_app
from test_teams import Teams, card_of
from test_teams import teams as teams

from bot.core import digest

LENA = ta.TeamsUser.from_email("lena@acme.example", "Lena Ortiz")
ERIN = ta.TeamsUser.from_email("erin@acme.example", "Erin Walsh")


@pytest.fixture
async def slack(tmp_path: Path) -> AsyncIterator[Slack]:
    async with slack_app(tmp_path) as running:
        yield running


def team_buttons(blocks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        e["text"]["text"]: e
        for b in blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "gn:team_digest"
    }


async def test_the_rollups_team_button_opens_that_teams_digest_in_its_thread(
    slack: Slack,
) -> None:
    lena = await slack.app.deps.directory.person("lena@acme.example")
    assert lena is not None
    await slack.channel.post_rollup(lena, await digest.rollup(slack.app.deps))
    [post] = slack.fake.called("chat.postMessage")
    shown = json.dumps(post.params["blocks"], ensure_ascii=False)
    assert "🚩 *Ship Payment Gateway v2* — Erin Walsh (Platform): overdue by 3 days" in shown
    buttons = team_buttons(post.params["blocks"])
    assert set(buttons) == {"Platform digest", "Sales East digest"}
    click = buttons["Platform digest"]
    await slack.post(
        sr.block_actions(
            "ULENA",
            click["action_id"],
            click["value"],
            secret=SECRET,
            channel="DULENA",
            message_ts="1700000400.000100",
        )
    )
    posts = await slack.wait_for("chat.postMessage", 2)
    opened = posts[1].params
    assert opened["thread_ts"] == "1700000400.000100"
    text = json.dumps(opened["blocks"], ensure_ascii=False)
    assert opened["blocks"][0]["text"]["text"] == "Platform digest"
    for header in ("*Needs attention*", "*What changed*", "*Participation*"):
        assert header in text
    assert "overdue by 3 days" in text and "due 13 Nov" not in text
    assert "Release mobile SDK 3.0* — Grace Kim · no recent update" in text


async def test_someone_who_may_not_read_a_team_gets_no_digest_from_its_button(
    slack: Slack,
) -> None:
    await slack.post(sr.block_actions("UERIN", "gn:team_digest", "Sales East", secret=SECRET))
    await slack.wait_for("chat.postEphemeral")
    assert not slack.fake.called("chat.postMessage")


async def test_the_rollup_cards_team_action_shows_that_teams_digest(teams: Teams) -> None:
    await teams.install(LENA)
    lena = await teams.app.deps.directory.person("lena@acme.example")
    assert lena is not None
    await teams.channel.post_rollup(lena, await digest.rollup(teams.app.deps))
    [rollup] = [s for s in teams.to(LENA.personal_conversation_id) if s.body.get("attachments")]
    card = card_of(rollup)
    assert "Erin Walsh (Platform): overdue by 3 days" in json.dumps(card, ensure_ascii=False)
    actions = {a["title"]: a for a in card["actions"]}
    submit = actions["Platform digest"]["fallback"]  # Action.Submit, as older clients send it
    assert submit["type"] == "Action.Submit"
    status, _ = await teams.post(
        ta.card_submit(
            LENA,
            submit["data"],
            service_url=teams.fake.url,
            conversation_id=LENA.personal_conversation_id,
            reply_to_id="rollup-1",
        )
    )
    assert status in (200, 201)
    cards = [
        card_of(s) for s in teams.to(LENA.personal_conversation_id) if s.body.get("attachments")
    ]
    shown = json.dumps(cards[-1], ensure_ascii=False)
    assert "📊 Platform digest" in shown and "**Needs attention**" in shown
    assert "overdue by 3 days" in shown

    await teams.install(ERIN)
    status, body = await teams.post(
        ta.card_action(
            ERIN,
            "team_digest",
            {"verb": "team_digest", "team": "Platform"},
            service_url=teams.fake.url,
            conversation_id=ERIN.personal_conversation_id,
            reply_to_id="rollup-2",
        )
    )
    assert status == 200 and "Only Platform's manager or a leader" in json.dumps(body)
    assert not [s for s in teams.to(ERIN.personal_conversation_id) if s.body.get("attachments")]
